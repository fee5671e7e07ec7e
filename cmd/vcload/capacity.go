package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// The capacity search (-capacity): rooms are added -rooms at a time, and
// after each step the load is measured over one window; the search stops at
// the first step where the server no longer holds (joins fail, participants
// drop, or more than -max-loss percent of audio or video is lost) or at
// -max-rooms, or where the one-way delay's p99 passes -max-delay (the
// figure includes both clients' stacks, so it is an upper bound of the
// server's share). The headline is the last step that held: how many rooms of
// -size, participants and forwarded packets a second this server carries on
// this machine.

// capacityStep is one step's figures.
type capacityStep struct {
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants"`
	Held         bool    `json:"held"`
	Why          string  `json:"why,omitempty"` // why it did not hold
	AudioLoss    float64 `json:"audioLossPercent"`
	VideoLoss    float64 `json:"videoLossPercent"`
	Failed       int     `json:"failed"`
	Dropped      int     `json:"dropped"`
	// From the server's processes and metrics, when -server-pid is given.
	ForwardedPerSecond float64 `json:"forwardedPerSecond,omitempty"`
	CPUPercent         float64 `json:"serverCpuPercentOfOneCore,omitempty"`
	CPUPerPacket       float64 `json:"cpuMicrosPerForwardedPacket,omitempty"`
	RSSPerParticipant  float64 `json:"rssPerParticipantKiB,omitempty"`
	DelayP99           float64 `json:"delayP99Millis"`
	ClientCPUPercent   float64 `json:"clientCpuPercentOfOneCore"`
}

// capacityReport is the search's result.
type capacityReport struct {
	URL   string         `json:"url"`
	Size  int            `json:"size"`
	Steps []capacityStep `json:"steps"`
	// Holds is the last step that held (nil if the first did not).
	Holds *capacityStep `json:"holds"`
	// Stopped says why the search ended.
	Stopped string `json:"stopped"`
}

// runCapacity runs the search; the participants of every step stay until
// the end.
func runCapacity(parent context.Context, cfg config, log *slog.Logger, progress io.Writer) (*capacityReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	steps := max(cfg.MaxRooms/cfg.Rooms, 1)
	perStep := time.Duration(cfg.Rooms*cfg.Size)*cfg.Ramp + cfg.JoinTimeout + cfg.Warmup + cfg.Duration + 10*time.Second
	ctx, cancel := context.WithTimeout(parent, time.Duration(steps)*perStep)
	defer cancel()

	lr, err := prepareLoad(ctx, cfg, log, progress)
	if err != nil {
		return nil, err
	}
	rep := &capacityReport{URL: cfg.URL, Size: cfg.Size}
	var parts []*participant
	var errs []error
	defer func() {
		if !closeAll(parts, closeTimeout) {
			fmt.Fprintf(progress, "vcload: closing the participants took longer than %s; exiting anyway\n", closeTimeout)
		}
	}()
	for rooms := cfg.Rooms; ; rooms += cfg.Rooms {
		more, err := newParticipants(cfg, cfg.Rooms, lr.keys, lr.env, lr.clinician)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "vcload: %d rooms of %d: joining %d more participants\n", rooms, cfg.Size, len(more))
		parts = append(parts, more...)
		errs = append(errs, startAll(ctx, more, cfg.Ramp)...)
		joined := 0
		for _, err := range errs {
			if err == nil {
				joined++
			}
		}
		stepCfg := cfg
		stepCfg.Rooms = rooms
		r, err := lr.measure(ctx, stepCfg, parts, errs, joined)
		if err != nil {
			return nil, err
		}
		st := stepOf(r, cfg.MaxLoss, cfg.MaxDelay)
		rep.Steps = append(rep.Steps, st)
		fmt.Fprintf(progress, "vcload: %d rooms: %s\n", rooms, st.summary())
		if !st.Held {
			rep.Stopped = fmt.Sprintf("at %d rooms of %d: %s", rooms, cfg.Size, st.Why)
			break
		}
		rep.Holds = &rep.Steps[len(rep.Steps)-1]
		if rooms+cfg.Rooms > cfg.MaxRooms {
			rep.Stopped = fmt.Sprintf("reached -max-rooms %d, still holding", cfg.MaxRooms)
			break
		}
	}
	return rep, nil
}

// stepOf judges one window: held means every participant joined and stayed,
// at most maxLoss percent of audio and of video was lost, and the delay's
// p99 was at most maxDelay (0: not judged).
func stepOf(r *report, maxLoss float64, maxDelay time.Duration) capacityStep {
	st := capacityStep{
		Rooms: r.Rooms, Participants: r.Participants,
		AudioLoss: r.Audio.LossPercent, VideoLoss: r.Video.LossPercent,
		Failed: r.Failed, Dropped: r.Dropped,
		DelayP99: r.Latency.P99,
	}
	if r.WindowSeconds > 0 {
		st.ClientCPUPercent = 100 * r.ClientCPUSeconds / r.WindowSeconds
	}
	if s := r.Server; s != nil {
		st.CPUPercent, st.CPUPerPacket, st.RSSPerParticipant = s.CPUPercent, s.CPUPerPacket, s.RSSPerPartKiB
		if r.WindowSeconds > 0 {
			st.ForwardedPerSecond = s.Forwarded / r.WindowSeconds
		}
	}
	var why []string
	if r.Failed > 0 {
		why = append(why, fmt.Sprintf("%d joins failed (%s)", r.Failed, r.FailureReasons[0]))
	}
	if r.Dropped > 0 {
		why = append(why, fmt.Sprintf("%d participants dropped (%s)", r.Dropped, r.DropReasons[0]))
	}
	if st.AudioLoss > maxLoss {
		why = append(why, fmt.Sprintf("%.2f %% of audio lost", st.AudioLoss))
	}
	if st.VideoLoss > maxLoss {
		why = append(why, fmt.Sprintf("%.2f %% of video lost", st.VideoLoss))
	}
	if maxDelay > 0 && r.Latency.Count > 0 && st.DelayP99 > float64(maxDelay)/float64(time.Millisecond) {
		why = append(why, fmt.Sprintf("delay p99 %.1f ms", st.DelayP99))
	}
	st.Held = len(why) == 0
	st.Why = strings.Join(why, "; ")
	return st
}

func (st capacityStep) summary() string {
	verdict := "holds"
	if !st.Held {
		verdict = "does not hold: " + st.Why
	}
	return fmt.Sprintf("%d participants, loss audio %.2f %% video %.2f %%, %.0f forwarded/s, server CPU %.0f %% of a core (%.1f µs a packet), vcload %.0f %%, delay p99 %.2f ms; %s",
		st.Participants, st.AudioLoss, st.VideoLoss, st.ForwardedPerSecond, st.CPUPercent, st.CPUPerPacket, st.ClientCPUPercent, st.DelayP99, verdict)
}

func (c *capacityReport) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "vcload: capacity search, rooms of %d at %s\n", c.Size, c.URL)
	for _, st := range c.Steps {
		fmt.Fprintf(&b, "  %4d rooms: %s\n", st.Rooms, st.summary())
	}
	if c.Holds != nil {
		fmt.Fprintf(&b, "capacity  %d rooms of %d (%d participants, %.0f forwarded packets/s)\n",
			c.Holds.Rooms, c.Size, c.Holds.Participants, c.Holds.ForwardedPerSecond)
	} else {
		fmt.Fprintf(&b, "capacity  not even the first step held\n")
	}
	fmt.Fprintf(&b, "stopped   %s\n", c.Stopped)
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *capacityReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
