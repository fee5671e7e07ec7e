// Fakes for the node tests: a WebSocket the test drives and a manual clock.

export class FakeWebSocket {
  /** @type {FakeWebSocket[]} */
  static made = [];

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = undefined;
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    FakeWebSocket.made.push(this);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data));
  }

  close(code) {
    this.readyState = 3;
    this.closedWith = code ?? 1005;
  }

  // Driven by the test:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  fail(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  receive(type, payload) {
    this.onmessage?.({ data: JSON.stringify({ type, payload }) });
  }

  /** Types of the messages sent so far. */
  types() {
    return this.sent.map((e) => e.type);
  }

  static last() {
    return FakeWebSocket.made[FakeWebSocket.made.length - 1];
  }

  static reset() {
    FakeWebSocket.made = [];
  }
}

export class FakeClock {
  constructor() {
    this.t = 1_700_000_000_000;
    this.seq = 0;
    /** @type {Map<number, {at: number, f: () => void, every: number}>} */
    this.timers = new Map();
  }

  now() {
    return this.t;
  }

  setTimeout(f, ms) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, f, every: 0 });
    return id;
  }

  setInterval(f, ms) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, f, every: ms });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  clearInterval(id) {
    this.timers.delete(id);
  }

  /** Delays of the pending one-shot timers, soonest first. */
  pending() {
    return [...this.timers.values()].filter((x) => !x.every).map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Moves time forward by ms, running the timers that fall due in order. */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      let nextId = 0;
      for (const [id, x] of this.timers) {
        if (x.at <= end && (!next || x.at < next.at)) {
          next = x;
          nextId = id;
        }
      }
      if (!next) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers.delete(nextId);
      next.f();
    }
    this.t = end;
  }
}
