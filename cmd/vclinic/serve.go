package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/sfu"
	"vclinic/signaling"
	"vclinic/web"
)

// runServe serves the clinic until ctx ends (SIGINT or SIGTERM).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseServeConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "vclinic:", err)
		return 2
	}
	level, _ := parseLevel(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("vclinic stopped", "err", err)
		return 1
	}
	return 0
}

// clinic is the wired program.
type clinic struct {
	cfg   serveConfig
	log   *slog.Logger
	keys  *signaling.Keyring
	media *sfu.SFU
	sig   *signaling.Server
	web   *web.Web
	ready atomic.Bool
}

func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	keys, err := signaling.OpenKeyring(filepath.Join(cfg.Data, "keys"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	httpHost, _, _ := net.SplitHostPort(cfg.Addr)
	pub, err := publicIPs(cfg.PublicHost)
	if err != nil {
		return err
	}
	media, err := sfu.New(sfu.Config{
		UDPPort:   cfg.UDPPort,
		TCPPort:   cfg.TCPPort,
		PublicIPs: pub,
		// Offer loopback candidates when the clinic itself is only on loopback:
		// browsers on the same machine, and hosts with no other interface.
		IncludeLoopback: isLoopbackHost(httpHost),
	}, log.With("component", "sfu"))
	if err != nil {
		return fmt.Errorf("media server: %w", err)
	}
	defer media.Close()
	sig, err := signaling.New(signaling.Config{
		GracePeriod:    cfg.Grace,
		AllowedOrigins: splitList(cfg.AllowedOrigins),
	}, keys, media, log.With("component", "signaling"))
	if err != nil {
		return err
	}
	w, err := web.New(web.Config{})
	if err != nil {
		return err
	}
	c := &clinic{cfg: cfg, log: log, keys: keys, media: media, sig: sig, web: w}

	srv := &http.Server{
		Handler:           c.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	base := scheme + "://" + advertisedAddr(ln.Addr())

	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	c.ready.Store(true)
	log.Info("vclinic serving", "url", base, "udp_port", media.UDPPort(), "tcp_port", media.TCPPort(), "data", cfg.Data)
	if cfg.Demo {
		if err := c.printDemo(stdout, base); err != nil {
			return err
		}
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "wait", cfg.ShutdownWait.String())
	c.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	if err := sig.Shutdown(sctx); err != nil {
		log.Warn("signaling shutdown", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := media.Close(); err != nil {
		log.Warn("media shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// advertisedAddr is the address printed in links: the bound address, with an
// unspecified IP (0.0.0.0, ::) replaced by loopback.
func advertisedAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

func (c *clinic) routes() http.Handler {
	r := httprouter.New()
	r.HandlerFunc(http.MethodGet, "/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	r.HandlerFunc(http.MethodGet, "/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !c.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	r.Handler(http.MethodGet, "/metrics", c.metricsHandler())
	r.HandlerFunc(http.MethodGet, "/ws", c.sig.ServeWS)
	r.GET("/api/v1/rooms/:room", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		c.sig.ServeRoom(w, req, p.ByName("room"))
	})
	r.HandlerFunc(http.MethodGet, "/visit/:room", c.web.VisitPage)
	r.HandlerFunc(http.MethodGet, "/call/:room", c.web.CallPage)
	r.Handler(http.MethodGet, "/static/*file", c.web.Static())
	r.HandlerFunc(http.MethodGet, "/", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "vclinic: open the link from your invitation.")
	})
	return c.logRequests(r)
}

// logRequests logs each request's method, path (never the query or fragment),
// status and duration.
func (c *clinic) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		c.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach the
// underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection to the WebSocket upgrade (gorilla asserts
// http.Hijacker on the writer it gets).
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("http: connection cannot be hijacked")
	}
	s.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

// printDemo prints one line per demo link: "clinician: URL" and "patient: URL".
func (c *clinic) printDemo(stdout io.Writer, base string) error {
	const room = "demo"
	clin, err := c.keys.Sign(signaling.TokenRequest{Role: signaling.RoleClinician, Subject: "demo-clinician",
		Name: "Dr. Anna Holm", TTL: 12 * time.Hour})
	if err != nil {
		return err
	}
	pat, err := c.keys.Sign(signaling.TokenRequest{Role: signaling.RolePatient, Subject: "demo-patient",
		Name: "Karen Jensen", Room: room, TTL: 12 * time.Hour})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "clinician: %s/call/%s#t=%s\n", base, room, clin)
	fmt.Fprintf(stdout, "patient: %s/visit/%s#t=%s\n", base, room, pat)
	return nil
}
