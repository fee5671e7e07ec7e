// Command vclinic runs the digital clinic: web pages, signaling and the media
// server in one process, plus operator subcommands.
//
//	vclinic [flags]            serve the clinic (see vclinic -h)
//	vclinic token [flags]      print an access token for scripts and operators
//	vclinic user add [flags]   add a member of staff
//	vclinic gatt decode C HEX  decode a Bluetooth health-device value
//	vclinic health             exit 0 when the local node answers /healthz
//	vclinic drain              SIGTERM the local node and wait until it stopped
//	vclinic backup OUT         copy the embedded records and keys, online
//	vclinic restore IN         restore such a copy into a new data directory
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return runToken(args[1:], stdout, stderr)
		case "gatt":
			return runGATT(args[1:], stdout, stderr)
		case "user":
			return runUser(ctx, args[1:], os.Stdin, stdout, stderr)
		case "health":
			return runHealth(ctx, args[1:], stdout, stderr)
		case "drain":
			return runDrain(ctx, args[1:], stdout, stderr)
		case "backup":
			return runBackup(ctx, args[1:], stdout, stderr)
		case "restore":
			return runRestore(ctx, args[1:], stdout, stderr)
		case "help":
			printUsage(stderr)
			return 0
		}
	}
	return runServe(ctx, args, stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `vclinic: video consultations with home health devices, in one program.

Usage:
  vclinic [flags]               serve the clinic (web pages, signaling, media)
  vclinic -demo                 serve, and print a clinician and a patient link
  vclinic token [flags]         print an access token (vclinic token -h)
  vclinic user add [flags]      add a member of staff (vclinic user add -h)
  vclinic gatt decode C HEX     decode a Bluetooth health-device value
  vclinic health [-ready]       exit 0 when the node answers /healthz (/readyz): container health checks
  vclinic drain                 SIGTERM the node (pid 1) and wait until it drained and stopped: a preStop hook
  vclinic backup [-data DIR] OUT    copy the records and signing keys while the clinic runs
  vclinic restore [-data DIR] IN    restore a backup into a data directory without records

Serve flags (each also read from the environment variable shown):
`)
}
