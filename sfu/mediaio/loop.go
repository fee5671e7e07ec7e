package mediaio

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// feedbackLoop is the sending side of a receiver's feedback interceptor: a
// ticker that writes what tick returns to the connection's RTCP writer. It
// starts with the first remote stream (a connection that only sends, a
// subscriber's, never needs it) and stops at Close.
type feedbackLoop struct {
	mu      sync.Mutex
	w       interceptor.RTCPWriter
	started bool
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// bindWriter keeps the connection's RTCP writer (pion binds it before any
// stream).
func (l *feedbackLoop) bindWriter(w interceptor.RTCPWriter) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

// start runs tick every interval, the n-th time with n, from now until
// close; only its first call does anything.
func (l *feedbackLoop) start(interval time.Duration, tick func(n int) []rtcp.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed || l.w == nil {
		return
	}
	l.started = true
	l.done = make(chan struct{})
	w, done := l.w, l.done
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if pkts := tick(n); len(pkts) > 0 {
				_, _ = w.Write(pkts, nil) // fails only once the connection is closing
			}
		}
	}()
}

// close stops the loop and waits for it.
func (l *feedbackLoop) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		if l.done != nil {
			close(l.done)
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}
