package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// MaxBatch is the most readings one request carries.
const MaxBatch = 50

// Uploader drains the outbox to the server's POST /api/v1/readings, oldest
// first, one batch at a time: the next batch goes only when the server has
// answered for every reading of the one before, so no device's readings are
// reordered. A failed request (connection error, timeout, any non-2xx or an
// answer that does not account for every reading) is sent again, unchanged,
// after a capped, jittered backoff; sending again is safe, because the server
// answers "duplicate" for a (device, characteristic, seq) it has stored.
// Nothing is dropped on a 4xx either (a bad token must be fixable without
// losing readings); such errors are logged as errors.
type Uploader struct {
	Outbox *Outbox
	URL    string // scheme://host[:port] of the clinic
	Token  string // the gateway's bearer token
	Client *http.Client

	Batch      int           // default and maximum MaxBatch
	MinBackoff time.Duration // default 500ms
	MaxBackoff time.Duration // default 5m

	// Sleep waits d or until ctx ends; default a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand.
	Jitter func() float64
	Now    func() time.Time
	Log    *slog.Logger
}

func (u *Uploader) defaults() {
	if u.Client == nil {
		u.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if u.Batch <= 0 || u.Batch > MaxBatch {
		u.Batch = MaxBatch
	}
	if u.MinBackoff <= 0 {
		u.MinBackoff = 500 * time.Millisecond
	}
	if u.MaxBackoff < u.MinBackoff {
		u.MaxBackoff = max(5*time.Minute, u.MinBackoff)
	}
	if u.Sleep == nil {
		u.Sleep = sleepCtx
	}
	if u.Jitter == nil {
		u.Jitter = rand.Float64
	}
	if u.Now == nil {
		u.Now = time.Now
	}
	if u.Log == nil {
		u.Log = slog.New(slog.DiscardHandler)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run drains the outbox and then waits for more, until ctx ends.
func (u *Uploader) Run(ctx context.Context) error {
	u.defaults()
	for {
		if err := u.Drain(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-u.Outbox.Ready():
		}
	}
}

// Drain sends until the outbox is empty, retrying failures; it returns only
// when nothing is pending, ctx ends or the outbox fails.
func (u *Uploader) Drain(ctx context.Context) error {
	u.defaults()
	failures := 0
	for {
		batch := u.Outbox.Pending(u.Batch)
		if len(batch) == 0 {
			return nil
		}
		results, err := u.post(ctx, batch)
		if err == nil {
			err = u.settle(batch, results)
			if errors.Is(err, errClosed) || isOutboxErr(err) {
				return err
			}
		}
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := u.backoff(failures)
		failures++
		level := slog.LevelWarn
		var he *httpError
		if errors.As(err, &he) && !he.transient() {
			level = slog.LevelError
		}
		u.Log.Log(ctx, level, "upload failed; retrying", "err", err, "pending", u.Outbox.Len(), "wait", wait)
		if err := u.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff is MinBackoff doubled per failure, capped at MaxBackoff, of which
// a random half is taken off (so many gateways do not retry in step).
func (u *Uploader) backoff(failures int) time.Duration {
	d := u.MaxBackoff
	if failures < 32 {
		d = min(u.MinBackoff<<failures, u.MaxBackoff)
	}
	return d/2 + time.Duration(u.Jitter()*float64(d/2))
}

type outboxErr struct{ err error }

func (e outboxErr) Error() string { return e.err.Error() }
func (e outboxErr) Unwrap() error { return e.err }

func isOutboxErr(err error) bool {
	var oe outboxErr
	return errors.As(err, &oe)
}

// errBadAnswer marks a 2xx answer that does not account for the batch.
var errBadAnswer = errors.New("unexpected answer")

type result struct {
	Index  int    `json:"index"`
	Status string `json:"status"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// settle records the server's answer: stored and duplicate are delivered,
// rejected go to the dead letters. The answer must name every reading once
// with a known status, or nothing is settled and the batch is sent again.
func (u *Uploader) settle(batch []Reading, results []result) error {
	if len(results) != len(batch) {
		return fmt.Errorf("%w: %d results for %d readings", errBadAnswer, len(results), len(batch))
	}
	seen := make([]bool, len(batch))
	var delivered []uint64
	var dead []DeadLetter
	for _, r := range results {
		if r.Index < 0 || r.Index >= len(batch) || seen[r.Index] {
			return fmt.Errorf("%w: result index %d", errBadAnswer, r.Index)
		}
		seen[r.Index] = true
		in := batch[r.Index]
		switch r.Status {
		case "stored", "duplicate":
			delivered = append(delivered, in.ID)
		case "rejected":
			dead = append(dead, DeadLetter{Reading: in, Reason: r.Reason, At: u.Now().UTC()})
			u.Log.Warn("reading rejected; dead-lettered", "device", in.DeviceID, "char", in.Char, "seq", in.Seq, "reason", r.Reason)
		default:
			return fmt.Errorf("%w: status %q", errBadAnswer, r.Status)
		}
	}
	if err := u.Outbox.Settle(delivered, dead); err != nil {
		return outboxErr{err}
	}
	return nil
}

type wireReading struct {
	DeviceID       string `json:"deviceId"`
	Characteristic string `json:"characteristic"`
	Value          string `json:"value"`
	Seq            int64  `json:"seq"`
	ObservedAt     string `json:"observedAt"`
	// IdentifiedBy is always "bluetooth-address": the gateway connects only
	// to kit devices by their address (fetchKit), so the server records it.
	IdentifiedBy string `json:"identifiedBy"`
}

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("POST /api/v1/readings: %d %s: %s", e.status, http.StatusText(e.status), e.body)
}

func (e *httpError) transient() bool {
	return e.status == http.StatusTooManyRequests || e.status >= 500
}

func (u *Uploader) post(ctx context.Context, batch []Reading) ([]result, error) {
	items := make([]wireReading, len(batch))
	for i, r := range batch {
		items[i] = wireReading{
			IdentifiedBy:   "bluetooth-address",
			DeviceID:       r.DeviceID,
			Characteristic: r.Char,
			Value:          r.Value,
			Seq:            r.Seq,
			ObservedAt:     r.ObservedAt.Format(time.RFC3339Nano),
		}
	}
	payload, err := json.Marshal(map[string]any{"readings": items})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(u.URL, "/")+"/api/v1/readings", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := u.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(data))}
	}
	var answer struct {
		Results []result `json:"results"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	return answer.Results, nil
}
