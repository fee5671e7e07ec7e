package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// The gateway's own credential: staff register the gateway and get a
// pairing code (printed with the kit, or read out); `homegw -pair CODE`
// trades it once at the clinic's POST /api/v1/kit/pair for the gateway's
// credential, which it keeps in credentialFile in its directory (mode
// 0600) and sends from then on. The credential sends this patient's
// readings and lists this patient's kit; nothing else.

// credentialFile holds the credential in the gateway's directory.
const credentialFile = "credential.json"

// kitCredential is what pairing gives.
type kitCredential struct {
	GatewayID  string `json:"gatewayId"`
	PatientID  string `json:"patientId"`
	Credential string `json:"credential"`
}

// pair trades code for the gateway's credential and keeps it in dir.
func pair(ctx context.Context, client *http.Client, base, code, dir string) (kitCredential, error) {
	body, _ := json.Marshal(map[string]string{"code": code})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/kit/pair", bytes.NewReader(body))
	if err != nil {
		return kitCredential{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return kitCredential{}, fmt.Errorf("pair: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return kitCredential{}, fmt.Errorf("pair: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var problem struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(data, &problem)
		return kitCredential{}, fmt.Errorf("pair: the clinic answered %d: %s", resp.StatusCode, problem.Detail)
	}
	var c kitCredential
	if err := json.Unmarshal(data, &c); err != nil || c.Credential == "" || c.PatientID == "" {
		return kitCredential{}, fmt.Errorf("pair: %w: %s", errBadAnswer, data)
	}
	if err := saveCredential(dir, c); err != nil {
		return kitCredential{}, err
	}
	return c, nil
}

// saveCredential writes c to dir atomically and durably, readable by this
// user only.
func saveCredential(dir string, c kitCredential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, credentialFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, credentialFile)); err != nil {
		return err
	}
	// The rename survives a power cut only once the directory is synced,
	// as the outbox's compaction does.
	return syncDir(dir)
}

// loadCredential reads the credential kept in dir; ok is false when there
// is none.
func loadCredential(dir string) (kitCredential, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, credentialFile))
	if errors.Is(err, os.ErrNotExist) {
		return kitCredential{}, false, nil
	}
	if err != nil {
		return kitCredential{}, false, err
	}
	var c kitCredential
	if err := json.Unmarshal(b, &c); err != nil || c.Credential == "" {
		return kitCredential{}, false, fmt.Errorf("%s: not a credential; pair again with -pair", filepath.Join(dir, credentialFile))
	}
	return c, true, nil
}
