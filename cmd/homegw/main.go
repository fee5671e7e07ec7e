// Command homegw is the home gateway of the clinic: it connects to the
// devices of a patient's kit over Bluetooth (BlueZ), keeps every raw value in
// a durable on-disk outbox and forwards it to the clinic's POST
// /api/v1/readings, so that readings taken while the network or the server is
// down, or across a restart or a crash, are delivered exactly once.
//
//	homegw -url https://clinic.example -dir /var/lib/homegw -pair K7Q4-M2XD-9FPA   (once)
//	homegw -url https://clinic.example -dir /var/lib/homegw [-adapter hci0]
//
// The first trades the pairing code the clinic gave when it registered the
// gateway for the gateway's own credential, kept in the directory; later
// starts use it. An operator's token (-token or HOMEGW_TOKEN, with
// -patient) works instead.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	fs := flag.NewFlagSet("homegw", flag.ExitOnError)
	base := fs.String("url", "", "clinic base URL, scheme://host[:port]")
	token := fs.String("token", os.Getenv("HOMEGW_TOKEN"), "gateway token (default $HOMEGW_TOKEN)")
	patient := fs.String("patient", "", "patient id whose kit to forward")
	dir := fs.String("dir", "/var/lib/homegw", "outbox directory")
	adapter := fs.String("adapter", "", "Bluetooth adapter, e.g. hci0 (default: the system's)")
	code := fs.String("pair", os.Getenv("HOMEGW_PAIRING_CODE"), "pairing `code` from the clinic: trade it for this gateway's credential, kept in -dir (default $HOMEGW_PAIRING_CODE)")
	fs.Parse(os.Args[1:])
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *base == "" {
		fmt.Fprintln(os.Stderr, "homegw: -url is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	*token, *patient, err = credentials(ctx, &http.Client{Timeout: 30 * time.Second}, *base, *code, *dir, *token, *patient)
	if err != nil {
		fmt.Fprintln(os.Stderr, "homegw:", err)
		os.Exit(2)
	}
	if err := run(ctx, *base, *token, *patient, *dir, *adapter, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("homegw stopped", "err", err)
		os.Exit(1)
	}
}

// credentials decides what the gateway sends: a new pairing, else the
// credential kept in dir, else an operator's token with its patient.
func credentials(ctx context.Context, client *http.Client, base, code, dir, token, patient string) (string, string, error) {
	if code != "" {
		c, err := pair(ctx, client, base, code, dir)
		if err != nil {
			return "", "", err
		}
		return c.Credential, c.PatientID, nil
	}
	if token == "" {
		c, ok, err := loadCredential(dir)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", errors.New("no credential: pair once with -pair CODE (the code the clinic gave), or give -token and -patient")
		}
		return c.Credential, c.PatientID, nil
	}
	if patient == "" {
		return "", "", errors.New("-token needs -patient")
	}
	return token, patient, nil
}

func run(ctx context.Context, base, token, patient, dir, adapter string, log *slog.Logger) error {
	ob, err := OpenOutbox(dir)
	if err != nil {
		return err
	}
	defer ob.Close()
	client := &http.Client{Timeout: 30 * time.Second}
	up := &Uploader{Outbox: ob, URL: base, Token: token, Client: client, Log: log}
	up.defaults()
	devices, err := fetchKit(ctx, up, patient)
	if err != nil {
		return err
	}
	radio, err := newRadio(adapter)
	if err != nil {
		return err
	}
	log.Info("homegw running", "devices", len(devices), "pending", ob.Len())
	g := &Gateway{Radio: radio, Outbox: ob, Uploader: up, Devices: devices, Log: log}
	return g.Run(ctx)
}

// fetchKit lists the patient's devices that have a Bluetooth address,
// retrying with the uploader's backoff until the server answers.
func fetchKit(ctx context.Context, up *Uploader, patient string) ([]Device, error) {
	u := strings.TrimRight(up.URL, "/") + "/api/v1/patients/" + url.PathEscape(patient) + "/devices"
	for failures := 0; ; failures++ {
		devs, err := getKit(ctx, up, u)
		if err == nil {
			var bt []Device
			for _, d := range devs {
				if d.IdentifiedBy == "bluetooth-address" && d.Address != "" {
					bt = append(bt, d)
				}
			}
			return bt, nil
		}
		wait := up.backoff(failures)
		up.Log.Warn("fetch kit failed; retrying", "err", err, "wait", wait)
		if err := up.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func getKit(ctx context.Context, up *Uploader, u string) ([]Device, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := up.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(data))}
	}
	var kit struct {
		Devices []Device `json:"devices"`
	}
	if err := json.Unmarshal(data, &kit); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	return kit.Devices, nil
}
