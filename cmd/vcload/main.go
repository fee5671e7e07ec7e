// Command vcload puts a running vclinic server under load. It joins N rooms of k
// simulated participants, pion peers that publish synthetic Opus (50 packets/s) and
// VP8-sized video (1.5 Mbit/s, ~170 packets/s) and subscribe to everyone else as a
// browser does, and reports join times, packets received and lost, the one-way
// delay through the server (every payload carries its send time), and the
// server's CPU time per forwarded packet and memory per participant (from /proc).
// With -idle it opens idle signaling connections instead (idle.go); with
// -capacity it adds rooms step by step until the server no longer holds
// (capacity.go).
//
// It mints its own tokens with the server's signing keys, so it needs the server's
// data directory, and it reads the server's /proc entries, so it must run on the
// same machine:
//
//	vclinic -addr 127.0.0.1:18080 -data /tmp/vc -udp-port 0 -tcp-port -1 &
//	vcload -url http://127.0.0.1:18080 -data /tmp/vc -rooms 10 -size 2 -server-pid $!
//
// It stops by itself after the ramp, the warm-up and the measurement window, and
// exits 1 if any participant failed to join.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what vcload reads from its flags.
type config struct {
	URL         string
	Data        string
	Rooms       int
	Size        int
	Duration    time.Duration
	Warmup      time.Duration
	Ramp        time.Duration
	JoinTimeout time.Duration
	ServerPID   int
	// ServerPIDs are the processes measured: ServerPID, or the list
	// -server-pid gave (a cluster's nodes).
	ServerPIDs []int
	// URLs are the nodes' base URLs (-url, comma-separated); participant
	// i joins through URLs[i % len], as a load balancer would spread them.
	URLs     []string
	Postgres string
	JSON     bool
	Verbose  bool
	// Idle, when more than 0, opens that many idle signaling WebSockets
	// instead of media participants (idle.go).
	Idle int
	// Capacity searches for the most rooms the server holds, adding Rooms
	// at a time up to MaxRooms, a step held while at most MaxLoss percent
	// is lost (capacity.go).
	Capacity bool
	MaxRooms int
	MaxLoss  float64
	MaxDelay time.Duration
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("vcload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base `URL` of the vclinic server; a comma-separated list for a cluster's nodes, which the participants join through in turn")
	fs.StringVar(&cfg.Data, "data", "./vclinic-data", "the server's data `directory` (its signing keys mint the tokens)")
	fs.IntVar(&cfg.Rooms, "rooms", 10, "`number` of rooms")
	fs.IntVar(&cfg.Size, "size", 2, "participants per room")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measurement window")
	fs.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "wait after the last join before measuring")
	fs.DurationVar(&cfg.Ramp, "ramp", 50*time.Millisecond, "delay between two joins")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", 15*time.Second, "how long one participant may take to join and connect")
	pids := fs.String("server-pid", "", "`pid` of the server, for its CPU time and RSS from /proc (empty: not measured); a comma-separated list sums a cluster's nodes")
	fs.StringVar(&cfg.Postgres, "postgres", "", "PostgreSQL `URL` of a cluster's records, whose signing keys mint the tokens (instead of -data's)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&cfg.Verbose, "v", false, "log each participant's progress")
	fs.BoolVar(&cfg.Capacity, "capacity", false, "search for the server's capacity: add -rooms rooms at a time, measure each step for -duration, and stop at the first step that loses more than -max-loss, is slower than -max-delay, or where joins fail")
	fs.IntVar(&cfg.MaxRooms, "max-rooms", 200, "with -capacity, the most rooms to try")
	fs.Float64Var(&cfg.MaxLoss, "max-loss", 1, "with -capacity, the `percent` of audio or video lost past which a step does not hold")
	fs.DurationVar(&cfg.MaxDelay, "max-delay", 50*time.Millisecond, "with -capacity, the one-way delay's p99 past which a step does not hold (0: not judged)")
	fs.IntVar(&cfg.Idle, "idle", 0, "instead of media, open this `number` of idle signaling WebSockets (two patients a room, not joined) and report the server's memory per connection; raise ulimit -n on both sides first")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "vcload: load a vclinic server with simulated participants.\n\nUsage: vcload [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(*pids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return cfg, fmt.Errorf("-server-pid %q: want process ids", *pids)
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
	}
	if len(cfg.ServerPIDs) > 0 {
		cfg.ServerPID = cfg.ServerPIDs[0]
	}
	err := cfg.validate()
	return cfg, err
}

func (c *config) validate() error {
	c.URLs = c.URLs[:0]
	for _, raw := range strings.Split(c.URL, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-url %q: want http://host:port or https://host:port, or a comma-separated list", c.URL)
		}
		c.URLs = append(c.URLs, raw)
	}
	if c.ServerPID > 0 && len(c.ServerPIDs) == 0 {
		c.ServerPIDs = []int{c.ServerPID}
	}
	switch {
	case c.Rooms < 1 || c.Rooms > 500:
		return fmt.Errorf("-rooms %d: want 1-500", c.Rooms)
	case c.Size < 1 || c.Size > 64:
		return fmt.Errorf("-size %d: want 1-64", c.Size)
	case c.Duration <= 0 || c.Duration > time.Hour:
		return fmt.Errorf("-duration %s: want more than 0 and at most 1h", c.Duration)
	case c.Warmup < 0 || c.Warmup > 10*time.Minute:
		return fmt.Errorf("-warmup %s: want 0-10m", c.Warmup)
	case c.Ramp < 0 || c.Ramp > time.Minute:
		return fmt.Errorf("-ramp %s: want 0-1m", c.Ramp)
	case c.JoinTimeout <= 0 || c.JoinTimeout > 5*time.Minute:
		return fmt.Errorf("-join-timeout %s: want more than 0 and at most 5m", c.JoinTimeout)
	case c.ServerPID < 0:
		return fmt.Errorf("-server-pid %d: want a process id", c.ServerPID)
	case c.Idle < 0 || c.Idle > 100_000:
		return fmt.Errorf("-idle %d: want 0-100000", c.Idle)
	case c.Capacity && (c.MaxRooms < c.Rooms || c.MaxRooms > 500):
		return fmt.Errorf("-max-rooms %d: want -rooms (%d) to 500", c.MaxRooms, c.Rooms)
	case c.Capacity && (c.MaxLoss < 0 || c.MaxLoss > 100):
		return fmt.Errorf("-max-loss %g: want a percentage, 0-100", c.MaxLoss)
	case c.Capacity && (c.MaxDelay < 0 || c.MaxDelay > time.Minute):
		return fmt.Errorf("-max-delay %s: want 0-1m", c.MaxDelay)
	case c.Capacity && c.Idle > 0:
		return errors.New("-capacity and -idle: choose one")
	}
	return nil
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "vcload:", err)
		return 2
	}
	level := slog.LevelWarn
	if cfg.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.Idle > 0 {
		return runIdleMain(ctx, cfg, stdout, stderr)
	}
	if cfg.Capacity {
		return runCapacityMain(ctx, cfg, log, stdout, stderr)
	}
	rep, err := runLoad(ctx, cfg, log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "vcload:", err)
		return 1
	}
	if cfg.JSON {
		err = writeJSON(stdout, rep)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vcload: write report:", err)
		return 1
	}
	if rep.Failed > 0 {
		fmt.Fprintf(stderr, "vcload: %d of %d participants failed to join; first reason: %s\n",
			rep.Failed, rep.Participants, rep.FailureReasons[0])
		return 1
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(stderr, "vcload: %d participants dropped during the run; first reason: %s\n",
			rep.Dropped, rep.DropReasons[0])
		return 1
	}
	return 0
}

// runCapacityMain runs -capacity and prints its report; it returns the exit
// status: 0 when some step held.
func runCapacityMain(ctx context.Context, cfg config, log *slog.Logger, stdout, stderr io.Writer) int {
	rep, err := runCapacity(ctx, cfg, log, stderr)
	if !printReport(cfg, rep, err, stdout, stderr) {
		return 1
	}
	if rep.Holds == nil {
		return 1
	}
	return 0
}

// printableReport is a report that prints as text or JSON.
type printableReport interface {
	writeText(io.Writer) error
	writeJSON(io.Writer) error
}

// printReport prints rep as -json asks, or the error that kept it from
// being made; false if there is no report to judge.
func printReport(cfg config, rep printableReport, err error, stdout, stderr io.Writer) bool {
	if err != nil {
		fmt.Fprintln(stderr, "vcload:", err)
		return false
	}
	if cfg.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vcload: write report:", err)
		return false
	}
	return true
}

// runIdleMain runs -idle and prints its report; it returns the exit status.
func runIdleMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	rep, err := runIdle(ctx, cfg, stderr)
	if !printReport(cfg, rep, err, stdout, stderr) {
		return 1
	}
	if rep.Failed > 0 || rep.Dropped > 0 {
		fmt.Fprintf(stderr, "vcload: %d WebSockets failed to open and %d dropped; first reason: %s\n", rep.Failed, rep.Dropped, rep.FirstError)
		return 1
	}
	return 0
}
