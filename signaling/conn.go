package signaling

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one WebSocket. The HTTP handler's goroutine is its reader; writeLoop is
// its only writer. Outbound messages go through a bounded queue: a client too slow
// to take them is disconnected (it can resume) rather than holding server memory.
type conn struct {
	ws  *websocket.Conn
	log *slog.Logger
	cfg *Config

	// The send queue: frames waiting for the writer, at most
	// cfg.SendQueue. A slice rather than a channel of that capacity, so
	// that an idle connection holds none of it.
	mu    sync.Mutex // guards queue
	queue [][]byte
	wake  chan struct{} // capacity 1: the queue has frames
	done  chan struct{} // closed to stop the writer

	closeOnce sync.Once
	closeCode int // written once before done is closed
	closeText string

	// member is the participant this connection speaks for; read and written only
	// by the reader goroutine.
	member *member

	// rate limit, reader goroutine only: a token bucket.
	tokens   float64
	lastFill time.Time
}

func newConn(ws *websocket.Conn, cfg *Config, log *slog.Logger) *conn {
	return &conn{
		ws:       ws,
		log:      log,
		cfg:      cfg,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		tokens:   float64(cfg.MessageBurst),
		lastFill: time.Now(),
	}
}

// send queues a message. It never blocks: when the queue is full the connection is
// closed as too slow.
func (c *conn) send(typ, ref string, payload any) {
	raw, err := json.Marshal(payload)
	if err != nil {
		c.log.Error("marshal outbound message", "type", typ, "err", err)
		return
	}
	frame, err := json.Marshal(Envelope{Type: typ, ID: ref, Payload: raw})
	if err != nil {
		c.log.Error("marshal envelope", "type", typ, "err", err)
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	c.mu.Lock()
	if len(c.queue) >= c.cfg.SendQueue {
		c.mu.Unlock()
		c.log.Warn("send queue full; closing slow connection", "type", typ)
		c.close(websocket.CloseTryAgainLater, "too slow")
		return
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// flush writes the queued frames. Writer only.
func (c *conn) flush() error {
	c.mu.Lock()
	frames := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, f := range frames {
		if err := c.write(websocket.TextMessage, f); err != nil {
			return err
		}
	}
	return nil
}

// sendError refuses the message with id ref.
func (c *conn) sendError(ref, code, msg string) {
	c.send(TypeError, "", Error{Code: code, Message: msg, Ref: ref})
}

// close asks the writer to flush what is queued, send a close frame and end.
func (c *conn) close(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
	})
}

// writeLoop is the connection's only writer: queued frames, keepalive pings and
// finally the close frame.
func (c *conn) writeLoop() {
	ping := time.NewTicker(c.cfg.PingInterval)
	defer ping.Stop()
	defer c.ws.Close()
	for {
		select {
		case <-c.wake:
			if err := c.flush(); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.done:
			if c.flush() != nil {
				return
			}
			if c.closeCode != websocket.CloseAbnormalClosure {
				msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.cfg.WriteTimeout))
			}
			return
		}
	}
}

func (c *conn) write(typ int, frame []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(typ, frame)
}

// allow takes one token from the connection's bucket.
func (c *conn) allow(now time.Time) bool {
	c.tokens += now.Sub(c.lastFill).Seconds() * c.cfg.MessageRate
	c.lastFill = now
	if max := float64(c.cfg.MessageBurst); c.tokens > max {
		c.tokens = max
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}
