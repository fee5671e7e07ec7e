// Package recordstest gives tests a records database of each kind: a fresh
// SQLite file, and a fresh database on a PostgreSQL server of their own (a
// throwaway cluster made with initdb in a temporary directory and reached
// over a unix socket only, or, when VCLINIC_TEST_POSTGRES names a server,
// that server). Each test gets a database that is dropped afterwards, so a
// test never sees data it did not create, and the machine's own PostgreSQL
// service is never touched. It is for tests only; the conformance suites of
// the clinic's stores run their test functions on every Backend.
package recordstest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Environment variables.
const (
	// EnvURL names an existing server (postgres://user:password@host:port/db)
	// to create the test databases in instead of starting a cluster; the
	// user must be allowed to create databases.
	EnvURL = "VCLINIC_TEST_POSTGRES"
	// EnvRequire set to 1 turns a missing PostgreSQL into a test failure
	// rather than a skip; CI sets it.
	EnvRequire = "VCLINIC_REQUIRE_POSTGRES"
)

// ErrUnavailable means neither EnvURL nor the server binaries are there.
var ErrUnavailable = errors.New("recordstest: no PostgreSQL: set " + EnvURL + " or install the postgresql package")

// Required reports whether tests must fail, not skip, without PostgreSQL.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Server is a PostgreSQL server that tests create databases in.
type Server struct {
	admin *sql.DB
	// dsn returns the connection string of a database on the server.
	dsn func(db string) string

	// A cluster of our own; empty for a server named by EnvURL.
	dir   string   // temporary directory: data/, the socket and the log
	bin   string   // directory of initdb, pg_ctl
	runAs []string // command prefix that runs as the postgres user, when root

	next atomic.Int64 // numbers the databases
}

// Start starts a cluster, or connects to the server EnvURL names. Starting a
// cluster takes about two seconds; start one per test binary (TestMain) and
// Close it when the tests are done.
func Start(ctx context.Context) (*Server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return connect(ctx, u)
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if s.dir, err = os.MkdirTemp("", "vclinic-pg-"); err != nil {
		return nil, fmt.Errorf("recordstest: %w", err)
	}
	if err := s.startCluster(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// binDir finds the newest installed server binaries (Debian keeps them in
// /usr/lib/postgresql/<version>/bin, off PATH).
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrUnavailable
}

// port names the socket file; with listen_addresses empty nothing listens on
// TCP, so it cannot collide with another server.
const port = 5499

func (s *Server) startCluster(ctx context.Context) error {
	if os.Geteuid() == 0 {
		// The server refuses to run as root: hand the directory to the
		// postgres user and run the tools as it.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("recordstest: running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return fmt.Errorf("recordstest: %w", err)
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(s.dir, "data")
	if err := s.run(ctx, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return err
	}
	if err := s.startServer(ctx); err != nil {
		return err
	}
	s.dsn = func(db string) string {
		return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", s.dir, port, db)
	}
	return s.openAdmin(ctx, s.dsn("postgres"))
}

// startServer starts the cluster's server and waits until it takes
// connections.
func (s *Server) startServer(ctx context.Context) error {
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=100", s.dir, port)
	return s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the server at once, as a crash or a failover would take it
// away: every connection is cut, nothing is shut down in order (pg_ctl's
// immediate mode). Start brings it back with what it had committed. Only
// for a cluster Start started, not a server EnvURL names.
func (s *Server) Stop(ctx context.Context) error {
	if s.dir == "" {
		return errors.New("recordstest: not a cluster of our own: it cannot be stopped")
	}
	return s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
}

// Start starts a cluster Stop stopped.
func (s *Server) Start(ctx context.Context) error {
	if s.dir == "" {
		return errors.New("recordstest: not a cluster of our own: it cannot be started")
	}
	return s.startServer(ctx)
}

func (s *Server) run(ctx context.Context, tool string, args ...string) error {
	argv := append(slices.Clone(s.runAs), filepath.Join(s.bin, tool))
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("recordstest: %s: %w\n%s\n%s", tool, err, out, log)
	}
	return nil
}

func connect(ctx context.Context, raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("recordstest: %s must be a postgres:// URL", EnvURL)
	}
	s := &Server{}
	s.dsn = func(db string) string {
		v := *u
		v.Path = "/" + db
		return v.String()
	}
	if err := s.openAdmin(ctx, raw); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) openAdmin(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("recordstest: %w", err)
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("recordstest: connect: %w", err)
	}
	s.admin = db
	return nil
}

// CreateDatabase creates a fresh, uniquely named database and returns its
// name and connection string.
func (s *Server) CreateDatabase(ctx context.Context) (name, dsn string, err error) {
	name = fmt.Sprintf("vclinic_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, s.next.Add(1))
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", "", fmt.Errorf("recordstest: create database: %w", err)
	}
	return name, s.dsn(name), nil
}

// DropDatabase drops a database CreateDatabase made, closing any connection
// still open to it.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, "vclinic_test_") {
		return fmt.Errorf("recordstest: %q is not a test database", name)
	}
	if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("recordstest: drop database: %w", err)
	}
	return nil
}

// Database creates a fresh database for t, dropped when t ends, and returns
// its connection string. Register it before anything that connects to it,
// so that the connections close first.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name, dsn, err := s.CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DropDatabase(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// LoadSQL runs a plain SQL script (as pg_dump writes it) into a database
// CreateDatabase made, with psql, stopping at the first error.
func (s *Server) LoadSQL(ctx context.Context, dsn, file string) error {
	psql := "psql"
	if s.bin != "" {
		if p := filepath.Join(s.bin, "psql"); fileExists(p) {
			psql = p
		}
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", file)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("recordstest: psql -f %s: %w\n%s", file, err, out)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Close stops a cluster Start started and removes its directory, or
// disconnects from the server EnvURL named.
func (s *Server) Close() error {
	var errs []error
	if s.admin != nil {
		errs = append(errs, s.admin.Close())
	}
	if s.dir != "" {
		if _, err := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); err == nil {
			errs = append(errs, s.run(context.Background(), "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"))
		}
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}
