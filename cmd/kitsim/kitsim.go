package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
)

// options are run's settings; main fills them from the flags.
type options struct {
	Token    string
	Patient  string
	Interval time.Duration // between batches; must be positive
	Count    int           // readings per device; 0 until ctx ends
	Seed     uint64
	Out      io.Writer // one line per result
	Log      io.Writer // skipped devices, retries; nil discards

	// Retries is how often a transient failure is retried (default 4);
	// Backoff the first wait, doubled each time (default 500ms).
	Retries int
	Backoff time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// device is one device of the kit, as GET /api/v1/patients/{id}/devices
// lists it.
type device struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// reading is one item of a POST /api/v1/readings batch.
type reading struct {
	DeviceID       string `json:"deviceId"`
	Characteristic string `json:"characteristic"`
	Value          string `json:"value"`
	Seq            int64  `json:"seq"`
	ObservedAt     string `json:"observedAt"`
}

type result struct {
	Index  int      `json:"index"`
	Status string   `json:"status"`
	ID     string   `json:"id"`
	Reason string   `json:"reason"`
	Flags  []string `json:"flags"`
}

// characteristicOf is the characteristic kitsim sends for a device type, or
// 0 for a type it does not simulate.
func characteristicOf(kind string) uint16 {
	switch gatt.DeviceKind(kind) {
	case gatt.KindBloodPressure:
		return gatt.BloodPressureMeasurement
	case gatt.KindThermometer:
		return gatt.TemperatureMeasurement
	case gatt.KindPulseOximeter:
		return gatt.PLXSpotCheckMeasurement
	case gatt.KindScale:
		return gatt.WeightMeasurement
	case gatt.KindHeartRate:
		return gatt.HeartRateMeasurement
	}
	return 0
}

// httpError is an answer other than 2xx.
type httpError struct {
	method, url string
	status      int
	body        string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.method, e.url, e.status, http.StatusText(e.status), e.body)
}

func (e *httpError) transient() bool {
	return e.status == http.StatusTooManyRequests || e.status >= 500
}

// run lists the patient's kit at base and posts one simulated reading per
// simulated device every o.Interval, o.Count times (or until ctx ends, when
// o.Count is 0). It returns nil after the last batch, ctx's error when ctx
// ends first, and any other error when a request fails for good.
func run(ctx context.Context, c *http.Client, base string, o options) error {
	if o.Patient == "" {
		return errors.New("a patient id is needed (-patient) to list the kit")
	}
	if o.Token == "" {
		return errors.New("a token is needed (-token or KITSIM_TOKEN)")
	}
	if o.Interval <= 0 {
		return fmt.Errorf("interval %v: must be positive", o.Interval)
	}
	if o.Count < 0 {
		return fmt.Errorf("count %d: must not be negative", o.Count)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http://host[:port] or https://host[:port]", base)
	}
	base = strings.TrimSuffix(base, "/")

	var kit struct {
		Devices []device `json:"devices"`
	}
	if err := call(ctx, c, o, http.MethodGet, base+"/api/v1/patients/"+url.PathEscape(o.Patient)+"/devices", nil, &kit); err != nil {
		return fmt.Errorf("list the kit: %w", err)
	}
	var devs []device
	for _, d := range kit.Devices {
		if characteristicOf(d.Type) == 0 {
			fmt.Fprintf(o.Log, "kitsim: skipping device %s: no simulation of a %s\n", d.ID, d.Type)
			continue
		}
		devs = append(devs, d)
	}
	if len(devs) == 0 {
		return fmt.Errorf("patient %s has no device kitsim can simulate", o.Patient)
	}

	sim := homekit.NewSim(o.Seed)
	lastSeq := make([]int64, len(devs))
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for n := 0; o.Count == 0 || n < o.Count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		now := o.Now()
		batch := make([]reading, len(devs))
		for i, d := range devs {
			char := characteristicOf(d.Type)
			seq := max(now.UnixMilli(), lastSeq[i]+1)
			lastSeq[i] = seq
			raw, err := sim.Value(char, now)
			if err != nil {
				return fmt.Errorf("device %s: %w", d.ID, err)
			}
			batch[i] = reading{
				DeviceID:       d.ID,
				Characteristic: fmt.Sprintf("%04X", char),
				Value:          hex.EncodeToString(raw),
				Seq:            seq,
				ObservedAt:     now.Format(time.RFC3339Nano),
			}
		}
		var answer struct {
			Results []result `json:"results"`
		}
		if err := call(ctx, c, o, http.MethodPost, base+"/api/v1/readings", map[string]any{"readings": batch}, &answer); err != nil {
			return fmt.Errorf("post readings: %w", err)
		}
		if len(answer.Results) != len(batch) {
			return fmt.Errorf("post readings: %d results for %d readings", len(answer.Results), len(batch))
		}
		for _, r := range answer.Results {
			if r.Index < 0 || r.Index >= len(batch) {
				return fmt.Errorf("post readings: result index %d out of range", r.Index)
			}
			in := batch[r.Index]
			line := fmt.Sprintf("%s %s %s seq=%d %s %s", in.ObservedAt, in.DeviceID, in.Characteristic, in.Seq, in.Value, r.Status)
			if r.ID != "" {
				line += " id=" + r.ID
			}
			if len(r.Flags) > 0 {
				line += " flags=" + strings.Join(r.Flags, ",")
			}
			if r.Reason != "" {
				line += fmt.Sprintf(" reason=%q", r.Reason)
			}
			fmt.Fprintln(o.Out, line)
		}
	}
	return nil
}

// call sends a JSON request (body nil for none) and decodes a 2xx answer
// into out. Connection errors, 429 and 5xx are retried with doubling
// backoff, o.Retries times; reposting a batch is safe, as its seqs make the
// server answer "duplicate" for what it stored before.
func call(ctx context.Context, c *http.Client, o options, method, u string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	wait := o.Backoff
	for attempt := 0; ; attempt++ {
		err := try(ctx, c, o.Token, method, u, payload, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *httpError
		if (errors.As(err, &he) && !he.transient()) || errors.Is(err, errBadAnswer) || attempt >= o.Retries {
			return err
		}
		fmt.Fprintf(o.Log, "kitsim: %v; retrying in %v\n", err, wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// errBadAnswer marks a 2xx answer that is not the JSON expected.
var errBadAnswer = errors.New("unexpected answer")

func try(ctx context.Context, c *http.Client, token, method, u string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &httpError{method: method, url: u, status: resp.StatusCode, body: strings.TrimSpace(string(data))}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: %w: %v", method, u, errBadAnswer, err)
	}
	return nil
}
