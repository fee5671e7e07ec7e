package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/signaling"
)

// Idle signaling (-idle N): N WebSockets, two patients to a room (N/2 rooms),
// each authenticated with its own token, connected and not joined, so no
// PeerConnection: what a clinic's morning of open visit pages costs the
// server before anyone is let in. vcload opens them (up to 64 at once),
// holds them for the window, and reports the server's RSS and CPU, per
// connection.

// idleReport is what an -idle run measured.
type idleReport struct {
	URL         string  `json:"url"`
	Connections int     `json:"connections"`
	Rooms       int     `json:"rooms"`
	Open        int     `json:"open"`   // open at the end of the window
	Failed      int     `json:"failed"` // never opened
	Dropped     int     `json:"dropped"`
	FirstError  string  `json:"firstError,omitempty"`
	OpenSeconds float64 `json:"openSeconds"` // to open them all
	Window      float64 `json:"windowSeconds"`
	Server      *struct {
		RSSIdleMiB          float64 `json:"rssIdleMiB"`
		RSSOpenMiB          float64 `json:"rssOpenMiB"`
		RSSPerConnectionKiB float64 `json:"rssPerConnectionKiB"`
		CPUSecondsWindow    float64 `json:"cpuSecondsWindow"`
	} `json:"server,omitempty"`
}

// idleConcurrency is how many connections are being opened at once.
const idleConcurrency = 64

func runIdle(ctx context.Context, cfg config, progress io.Writer) (*idleReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	keys, err := openServerKeys(ctx, cfg.Data, cfg.Postgres)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URLs[0]) // validated
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	ws.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	rep := &idleReport{URL: cfg.URLs[0], Connections: cfg.Idle, Rooms: (cfg.Idle + 1) / 2}
	var pids []string
	for _, p := range cfg.ServerPIDs {
		pids = append(pids, strconv.Itoa(p))
	}
	ticks := int64(100)
	var before procSample
	if len(pids) > 0 {
		ticks, _ = clockTicks(ctx)
		if before, err = readProcs(pids, ticks); err != nil {
			return nil, fmt.Errorf("-server-pid: %w", err)
		}
	}
	dialer := &websocket.Dialer{HandshakeTimeout: cfg.JoinTimeout, Subprotocols: []string{signaling.ProtocolName},
		ReadBufferSize: 512, WriteBufferSize: 512}
	run := time.Now().UnixNano()
	conns := make([]*websocket.Conn, cfg.Idle)
	var failed, dropped atomic.Int64
	var firstErr sync.Once
	fail := func(err error) {
		firstErr.Do(func() { rep.FirstError = err.Error() })
	}
	fmt.Fprintf(progress, "vcload: opening %d idle WebSockets in %d rooms at %s\n", cfg.Idle, rep.Rooms, ws.String())
	start := time.Now()
	sem := make(chan struct{}, idleConcurrency)
	var wg sync.WaitGroup
	for i := range cfg.Idle {
		room := fmt.Sprintf("idle-%x-%d", run, i/2)
		tok, err := keys.Sign(signaling.TokenRequest{Role: signaling.RolePatient, Subject: fmt.Sprintf("%s-p%d", room, i%2), Room: room, TTL: time.Hour})
		if err != nil {
			return nil, err
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, resp, err := dialer.DialContext(ctx, ws.String()+"?room="+url.QueryEscape(room), http.Header{"Authorization": {"Bearer " + tok}})
			if err != nil {
				failed.Add(1)
				if resp != nil {
					err = fmt.Errorf("%w (%d)", err, resp.StatusCode)
				}
				fail(err)
				return
			}
			conns[i] = c
			// Read until the server closes: a connection it drops is
			// counted.
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						if ctx.Err() == nil {
							dropped.Add(1)
						}
						return
					}
				}
			}()
		})
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	rep.OpenSeconds = time.Since(start).Seconds()
	fmt.Fprintf(progress, "vcload: %d open after %.1f s; holding them %s\n", cfg.Idle-int(failed.Load()), rep.OpenSeconds, cfg.Duration)
	var open procSample
	if len(pids) > 0 {
		// Settle, then measure over the window.
		sleep(ctx, 2*time.Second)
		if open, err = readProcs(pids, ticks); err != nil {
			return nil, err
		}
	}
	windowStart := time.Now()
	sleep(ctx, cfg.Duration)
	rep.Window = time.Since(windowStart).Seconds()
	if len(pids) > 0 {
		end, err := readProcs(pids, ticks)
		if err != nil {
			return nil, err
		}
		n := cfg.Idle - int(failed.Load())
		rep.Server = &struct {
			RSSIdleMiB          float64 `json:"rssIdleMiB"`
			RSSOpenMiB          float64 `json:"rssOpenMiB"`
			RSSPerConnectionKiB float64 `json:"rssPerConnectionKiB"`
			CPUSecondsWindow    float64 `json:"cpuSecondsWindow"`
		}{
			RSSIdleMiB:       float64(before.rss) / (1 << 20),
			RSSOpenMiB:       float64(end.rss) / (1 << 20),
			CPUSecondsWindow: (end.cpu - open.cpu).Seconds(),
		}
		if n > 0 {
			rep.Server.RSSPerConnectionKiB = (float64(end.rss) - float64(before.rss)) / 1024 / float64(n)
		}
	}
	rep.Failed, rep.Dropped = int(failed.Load()), int(dropped.Load())
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	rep.Open = cfg.Idle - rep.Failed - rep.Dropped
	return rep, nil
}

func (r *idleReport) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "idle signaling: %d WebSockets in %d rooms at %s\n  opened in %.1f s; %d failed, %d dropped in the %.0f s window\n",
		r.Connections, r.Rooms, r.URL, r.OpenSeconds, r.Failed, r.Dropped, r.Window)
	if err == nil && r.FirstError != "" {
		_, err = fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if err == nil && r.Server != nil {
		_, err = fmt.Fprintf(w, "  server RSS %.1f MiB idle, %.1f MiB with them open: %.1f KiB per connection; CPU %.2f s over the window\n",
			r.Server.RSSIdleMiB, r.Server.RSSOpenMiB, r.Server.RSSPerConnectionKiB, r.Server.CPUSecondsWindow)
	}
	return err
}

func (r *idleReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
