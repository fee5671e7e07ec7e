// Package redistest gives tests a redis-server of their own: started on a
// unix socket in a temporary directory (nothing listens on TCP, so it
// cannot meet the machine's own Redis), with no persistence, stopped when
// the test ends; or, with StartTCP, on a free loopback port behind a
// password, as a Redis across the network is reached. It can be stopped
// and started again on the same socket or port, as a Redis that restarts.
// It is for tests only.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvRequire set to 1 turns a missing redis-server into a test failure
// rather than a skip; CI sets it.
const EnvRequire = "VCLINIC_REQUIRE_REDIS"

// ErrUnavailable means redis-server is not installed.
var ErrUnavailable = errors.New("redistest: no redis-server: install the redis-server package")

// Server is a throwaway redis-server.
type Server struct {
	dir  string
	sock string
	cmd  *exec.Cmd
	// port and password are set for a server StartTCP started.
	port     int
	password string
}

// Start starts a redis-server for t, stopped and removed when t ends.
// Without redis-server it skips t, or fails it when EnvRequire is set.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTCP is Start on a free port of 127.0.0.1 as well, with a password
// (requirepass): TCPURL names it as redis://:password@127.0.0.1:port/0.
func StartTCP(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, tcp bool) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(ErrUnavailable)
		}
		t.Skip(ErrUnavailable)
	}
	dir, err := os.MkdirTemp("", "vclinic-redis-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir, sock: filepath.Join(dir, "redis.sock")}
	if tcp {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		s.password = fmt.Sprintf("pw-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL is the server's address for go-redis (redis.ParseURL): a unix
// socket URL.
func (s *Server) URL() string {
	if s.password != "" {
		return "unix://:" + s.password + "@" + s.sock
	}
	return "unix://" + s.sock
}

// TCPURL is the address of a server StartTCP started, over TCP with its
// password; "" for one Start started.
func (s *Server) TCPURL() string {
	if s.port == 0 {
		return ""
	}
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", s.password, s.port)
}

// Stop kills the server (SIGKILL: a crash), if it runs.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
	os.Remove(s.sock)
}

// Restart starts the server again (or the first time) on the same socket,
// empty, and waits until it answers.
func (s *Server) Restart() error {
	s.Stop()
	args := []string{"--port", fmt.Sprint(s.port), "--unixsocket", s.sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}
	if s.port != 0 {
		args = append(args, "--bind", "127.0.0.1", "--requirepass", s.password)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start: %w", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.sock, s.password) == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return fmt.Errorf("redistest: redis-server did not answer within 10 s:\n%s", log)
}

// ping sends PING over the socket (after AUTH, with a password) and waits
// for PONG.
func ping(sock, password string) error {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	cmds := "PING\r\n"
	if password != "" {
		cmds = "AUTH " + password + "\r\n" + cmds
	}
	if _, err := c.Write([]byte(cmds)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if password != "" {
		if !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("AUTH answered %q", line)
		}
		if line, err = r.ReadString('\n'); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("answered %q", line)
	}
	return nil
}
