package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"vclinic/scheduler"
)

// cprKeyFileName is the CPR key's file in the data directory, its default.
const cprKeyFileName = "cpr.key"

// loadCPRKey reads the key that encrypts CPR numbers at rest: -cpr-key-file,
// or cpr.key in the data directory. The file holds 32 random bytes in
// base64 (head -c 32 /dev/urandom | base64). On one node with its records in
// the data directory a missing default file is made (mode 0600); where the
// records are in PostgreSQL the file must exist, because every node must be
// given the same one.
func loadCPRKey(data, file string, shared bool) (*scheduler.CPRKey, error) {
	path := file
	if path == "" {
		path = filepath.Join(data, cprKeyFileName)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && file == "" && !shared {
		secret := make([]byte, scheduler.CPRSecretSize)
		_, _ = rand.Read(secret)
		enc := base64.StdEncoding.EncodeToString(secret) + "\n"
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
			return nil, fmt.Errorf("CPR key: %w", err)
		}
		b = []byte(enc)
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("-cpr-key-file %s does not exist: the nodes of a cluster share one CPR key; "+
			"make it once (head -c 32 /dev/urandom | base64 > FILE, mode 0600) and give every node the same file", path)
	} else if err != nil {
		return nil, fmt.Errorf("CPR key: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) != scheduler.CPRSecretSize {
		return nil, fmt.Errorf("CPR key %s: want %d random bytes in base64", path, scheduler.CPRSecretSize)
	}
	return scheduler.NewCPRKey(secret)
}
