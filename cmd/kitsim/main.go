// Command kitsim posts simulated home-kit readings to a running vclinic
// server, as the patient's gateway or the patient's page would. It lists the
// patient's kit, and for every device of a kind it can simulate it posts one
// raw Bluetooth characteristic value per interval:
//
//	blood-pressure   2A35 Blood Pressure Measurement
//	thermometer      2A1C Temperature Measurement
//	pulse-oximeter   2A5E PLX Spot-check Measurement
//	scale            2A9D Weight Measurement
//	heart-rate       2A37 Heart Rate Measurement
//
// The values come from homekit.Sim: one patient's slowly drifting, plausible
// physiology, deterministic for a given -seed. Each interval's readings go
// in one POST /api/v1/readings batch, and kitsim prints one line per result
// (stored, duplicate or rejected).
//
// Usage:
//
//	KITSIM_TOKEN=<patient or gateway token> kitsim -patient <id> [-url http://127.0.0.1:8080] [-interval 10s] [-count 0] [-seed 0]
//
// Seq numbers are time-based: a reading's seq is its observation time in
// Unix milliseconds, raised when needed to stay above the device's previous
// one. A restarted kitsim therefore continues above the seqs of earlier runs
// (unless the clock went back), and a retried batch is answered "duplicate"
// rather than stored twice.
//
// Connection errors, 429 and 5xx are retried a few times with backoff; any
// other HTTP error stops kitsim with exit status 1. SIGINT or SIGTERM stops
// it cleanly (exit status 0).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "base URL of the vclinic server")
	token := flag.String("token", "", "patient or gateway bearer token (default $KITSIM_TOKEN)")
	patient := flag.String("patient", "", "patient id, whose kit to simulate (required)")
	interval := flag.Duration("interval", 10*time.Second, "time between readings of each device")
	count := flag.Int("count", 0, "readings per device; 0 posts until interrupted")
	seed := flag.Uint64("seed", 0, "simulation seed; 0 picks one at random and prints it")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	if *token == "" {
		*token = os.Getenv("KITSIM_TOKEN")
	}
	o := options{
		Token:    *token,
		Patient:  *patient,
		Interval: *interval,
		Count:    *count,
		Seed:     *seed,
		Out:      os.Stdout,
		Log:      os.Stderr,
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
		fmt.Fprintf(os.Stderr, "kitsim: seed %d\n", o.Seed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := &http.Client{Timeout: 30 * time.Second}
	if err := run(ctx, client, *url, o); err != nil && !errors.Is(err, context.Canceled) {
		stop()
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kitsim:", err)
	os.Exit(1)
}
