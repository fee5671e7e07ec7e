package main

import (
	"bufio"
	"bytes"
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
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/redis/go-redis/v9"

	"vclinic/homekit"
	"vclinic/internal/keystore"
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/scheduler"
	"vclinic/sfu"
	"vclinic/signaling"
	"vclinic/signaling/cluster"
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
	tuneGC()
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("vclinic stopped", "err", err)
		return 1
	}
	return 0
}

// serverGCPercent is the garbage collector's target unless GOGC says
// otherwise: the heap may grow to 1.5 times what is live, not twice. A media
// server's heap is mostly long-lived packet histories and connection state,
// and with half the headroom rooms of six took 1.71-1.77 MiB per participant
// instead of 2.20-2.25, at no CPU cost we could measure (BENCHMARKS.md).
const serverGCPercent = 50

// tuneGC sets serverGCPercent, unless the operator set GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serverGCPercent)
	}
}

// clinic is the wired program.
type clinic struct {
	cfg serveConfig
	log *slog.Logger
	// fatal takes what must stop the node (its id taken by another
	// process); serve shuts down and returns it.
	fatal chan error
	keys  *signaling.Keyring
	db    *records.DB
	trail *audit.Log
	store *scheduler.Store
	kit   *homekit.Store
	// courier sends patients' messages; nil when no way is configured.
	courier  *courier
	linkBase string
	media    *sfu.SFU
	sig      *signaling.Server
	api      *scheduler.API
	kitAPI   *homekit.API
	// demoAppt is the demo visit, whose patient's simulated kit measures
	// while the visit is on (-demo only).
	demoAppt scheduler.Appointment
	web      *web.Web
	guard    guard
	proxies  trustedProxies
	auth     clinicAuth
	// registry is the cluster's view of its nodes (this node alone without
	// -redis); rdb the Redis client behind it, nil without.
	registry *cluster.Registry
	rdb      redis.UniversalClient
	// turn is the TURN server browsers are handed, nil when none is
	// configured (precheck.go).
	turn *signaling.TURN
	// admit refuses new visits past the configured load.
	admit *admission
	// place routes each room's requests to the node that hosts it; nil
	// outside a cluster.
	place *placement
	ready atomic.Bool
	// vitalsPushes counts live vitals pushes to visits, for metrics.
	vitalsPushes atomic.Uint64
}

// openRecords opens the clinic's records database, once for the process:
// PostgreSQL when a URL is given, else the embedded SQLite database in the
// data directory; and the audit log in it.
func openRecords(ctx context.Context, data, postgres string, retention time.Duration, log *slog.Logger) (*records.DB, *audit.Log, error) {
	cfg := records.Config{PostgresURL: postgres}
	if postgres == "" {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, nil, fmt.Errorf("data directory: %w", err)
		}
		cfg.SQLitePath = filepath.Join(data, "vclinic.db")
	}
	db, err := records.Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	trail, err := audit.New(ctx, db, audit.Config{Retention: retention}, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, trail, nil
}

// openScheduler opens the records and the scheduler's store on them.
func openScheduler(ctx context.Context, data, postgres, cprKeyFile string, log *slog.Logger) (*records.DB, *scheduler.Store, error) {
	key, err := loadCPRKey(data, cprKeyFile, postgres != "")
	if err != nil {
		return nil, nil, err
	}
	db, trail, err := openRecords(ctx, data, postgres, 0, log)
	if err != nil {
		return nil, nil, err
	}
	store, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{CPRKey: key}, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, store, nil
}

// newClinic opens the records and the media ports and wires the parts.
// Links point to linkBase (scheme://host:port). Close releases it all.
func newClinic(ctx context.Context, cfg serveConfig, log *slog.Logger, linkBase string, secure bool) (*clinic, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	httpHost, _, _ := net.SplitHostPort(cfg.Addr)
	pub, err := publicIPs(cfg.PublicHost)
	if err != nil {
		return nil, err
	}
	turn, err := cfg.turn()
	if err != nil {
		return nil, err
	}
	cprKey, err := loadCPRKey(cfg.Data, cfg.CPRKeyFile, cfg.Postgres != "")
	if err != nil {
		return nil, err
	}
	db, trail, err := openRecords(ctx, cfg.Data, cfg.Postgres, cfg.AuditRetention, log.With("component", "records"))
	if err != nil {
		return nil, err
	}
	keys, err := keystore.Open(ctx, cfg.Data, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	couriers, err := newCourier(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	store, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{CareWindow: cfg.CareWindow, CPRKey: cprKey,
		MeasurementCodes: homekit.Expectable(), Channels: couriers.channels()}, log.With("component", "scheduler"))
	if err == nil {
		err = store.SeedSettings(ctx, cfg.Language)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	kit, err := homekit.NewStore(ctx, db, trail, homekit.Config{}, log.With("component", "homekit"))
	if err != nil {
		db.Close()
		return nil, err
	}
	bind := splitList(cfg.MediaBind)
	media, err := sfu.New(sfu.Config{
		UDPPort:   cfg.UDPPort,
		TCPPort:   cfg.TCPPort,
		ListenIPs: bind,
		PublicIPs: pub,
		// Offer loopback candidates when the clinic itself is only on loopback
		// (browsers on the same machine, and hosts with no other interface),
		// or media is told to listen there.
		IncludeLoopback: isLoopbackHost(httpHost) || slices.ContainsFunc(bind, isLoopbackHost),
		UnbatchedUDP:    !cfg.UDPBatch,
		PublicUDPPort:   cfg.PublicUDPPort,
		PublicTCPPort:   cfg.PublicTCPPort,
		ICELite:         cfg.ICELite,
	}, log.With("component", "sfu"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("media server: %w", err)
	}
	proxies, err := parseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		db.Close()
		media.Close()
		return nil, err
	}
	c := &clinic{cfg: cfg, log: log, fatal: make(chan error, 1), keys: keys, db: db, trail: trail, store: store, kit: kit, media: media,
		guard: newGuard(linkBase, splitList(cfg.AllowedOrigins), secure), proxies: proxies, courier: couriers, linkBase: linkBase,
		turn: turn}
	policy := scheduler.LinkPolicy{}
	auth := clinicAuth{keys: keys, store: store, links: policy, idle: cfg.SessionIdle, now: time.Now}
	c.auth = auth
	mediaHost := cfg.PublicHost
	if mediaHost == "" {
		mediaHost = httpHost
	}
	c.admit = &admission{maxCPU: cfg.MaxCPU, maxPPS: float64(cfg.MaxPPS), log: log.With("component", "admission"),
		forwarded: func() uint64 { return media.Stats().ForwardedPackets }}
	c.registry, c.rdb, err = newRegistry(ctx, cfg, linkBase, mediaHost, func() cluster.Load {
		if c.sig == nil {
			return cluster.Load{}
		}
		n := c.sig.Counters()
		return cluster.Load{Rooms: n.Rooms, Participants: n.Members, Full: c.admit.Full()}
	}, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	var placer signaling.Placement
	if cfg.Redis != "" {
		leases, err := cluster.NewLeases(ctx, db, c.registry.ID(), cfg.RoomLease, log.With("component", "cluster"))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.place = newPlacement(c, leases)
		placer = leases
	}
	c.sig, err = signaling.New(signaling.Config{
		Placement:      placer,
		NodeID:         c.registry.ID(),
		Authenticator:  auth,
		GracePeriod:    cfg.Grace,
		AllowedOrigins: splitList(cfg.AllowedOrigins),
		TURN:           turn,
		Visits:         visits{store: store, policy: policy},
		Quality:        visitQuality{store},
		Chat:           visitChat{store},
		Readings:       readingsSink{c},
		VitalsAudit:    vitalsAudit{c},
		Admit:          c.admit.Admit,
	}, keys, media, log.With("component", "signaling"))
	apiCfg := scheduler.APIConfig{Links: policy, SecureCookies: secure, BaseURL: linkBase, OrganizerEmail: cfg.CalendarEmail,
		Booked: c.booked, Kit: kitFigures{c.kit}, FlaggedReadings: c.kit.CountUnacknowledged,
		Triage: triageKit{c.kit}}
	apiCfg.SMSAuthorization, apiCfg.SMSReports = c.courier.smsAuth()
	if c.rdb != nil {
		apiCfg.SignInLimit = redisSignInLimit{c.rdb}
	}
	if err == nil {
		apiCfg.OIDC, err = cfg.oidc(strings.TrimRight(linkBase, "/") + "/auth/callback")
	}
	if err == nil {
		c.api, err = scheduler.NewAPI(apiCfg,
			store, tokenAuth{auth}, tokenIssuer{keys: keys, base: linkBase},
			scheduler.PresenceFunc(c.presence), log.With("component", "api"))
	}
	if err == nil {
		// New readings show at once in the visit the patient is in.
		live := homekit.LiveFeedFunc(func(patientID string, recent []homekit.Reading) {
			c.pushVitals(patientID, vitalsOf(recent))
		})
		c.kitAPI, err = homekit.NewAPI(homekit.APIConfig{BaseURL: linkBase, Live: live, Visits: visitAccess{store: store, links: policy, now: time.Now},
			Types: typeChecker{store}},
			c.kit, homekitAuth{auth: auth, kits: c.kit}, log.With("component", "homekit-api"))
	}
	if err == nil {
		c.web, err = web.New(web.Config{})
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the media server and closes the records.
func (c *clinic) Close() {
	if err := c.media.Close(); err != nil {
		c.log.Warn("media shutdown", "err", err)
	}
	if c.place != nil {
		// Whatever the node still holds is free for other nodes at once.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := c.place.leases.ReleaseAll(ctx); err != nil {
			c.log.Warn("cluster: release room leases", "err", err)
		}
		cancel()
	}
	if c.registry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.registry.Leave(ctx)
		cancel()
	}
	if c.rdb != nil {
		c.rdb.Close()
	}
	if err := c.db.Close(); err != nil {
		c.log.Warn("records close", "err", err)
	}
}

func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	var tlsConfig *tls.Config
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	base := scheme + "://" + advertisedAddr(ln.Addr())
	linkBase := strings.TrimSuffix(cfg.PublicURL, "/")
	if linkBase == "" {
		linkBase = base
	}
	if cfg.NodeURL == "" {
		cfg.NodeURL = scheme + "://" + nodeAddr(ln.Addr())
	}
	c, err := newClinic(ctx, cfg, log, linkBase, tlsConfig != nil)
	if err != nil {
		return err
	}
	defer c.Close()
	media, sig := c.media, c.sig

	srv := httpServer(c.routes(), log, tlsConfig, requestReadTimeout)
	if cfg.DebugAddr != "" {
		_, stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	// Expired idempotency keys are purged hourly while the server runs.
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purgeDone := make(chan struct{})
	go func() { defer close(purgeDone); c.store.RunIdempotencyPurge(purgeCtx, time.Hour) }()
	// Audit rows past the retention are purged daily.
	auditDone := make(chan struct{})
	go func() { defer close(auditDone); c.trail.RunPurge(purgeCtx, 24*time.Hour) }()
	// The node tells the cluster it lives, renews its rooms' leases, and
	// reads signing keys other nodes made.
	beatDone := make(chan struct{})
	go func() { defer close(beatDone); c.runCluster(purgeCtx) }()
	keysDone := make(chan struct{})
	go func() { defer close(keysDone); c.reloadKeys(purgeCtx, time.Minute) }()
	// Past its load the node takes no new visits.
	admitDone := make(chan struct{})
	go func() { defer close(admitDone); c.admit.run(purgeCtx) }()
	// Messages to patients go out from every node; each is sent once.
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		if c.courier != nil {
			c.outbox().Run(purgeCtx)
		}
	}()
	// A patient who never arrived is marked a no-show an hour after the
	// visit's end, by whichever node looks first.
	noShowDone := make(chan struct{})
	go func() { defer close(noShowDone); c.store.RunNoShows(purgeCtx, time.Minute) }()
	defer func() {
		stopPurge()
		<-noShowDone
		<-outboxDone
		<-purgeDone
		<-auditDone
		<-beatDone
		<-keysDone
		<-admitDone
	}()
	// The demo's links are printed once the clinic is ready: whoever reads
	// them (a person, a script, the tests) may use them at once.
	var links bytes.Buffer
	if cfg.Demo {
		if err := c.seedDemo(ctx, &links, linkBase); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		kitCtx, stopKit := context.WithCancel(ctx)
		kitDone := make(chan struct{})
		go func() {
			defer close(kitDone)
			c.runDemoKit(kitCtx, c.demoAppt, demoKitInterval)
		}()
		defer func() {
			stopKit()
			<-kitDone
		}()
	}
	c.ready.Store(true)
	log.Info("vclinic serving", "url", base, "udp_port", media.UDPPort(), "tcp_port", media.TCPPort(), "data", cfg.Data)
	if _, err := links.WriteTo(stdout); err != nil {
		return fmt.Errorf("demo: print the links: %w", err)
	}

	var fatal error
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case fatal = <-c.fatal:
		log.Error("stopping", "err", fatal)
	case <-ctx.Done():
	}
	log.Info("shutting down", "wait", cfg.ShutdownWait.String())
	c.ready.Store(false)
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	c.registry.Drain(dctx)
	dcancel()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	if c.place != nil {
		// A cluster node drains: it takes no new rooms, lets its visits
		// end up to -shutdown-wait, then hands the rest to other nodes.
		c.drainRooms(sctx)
		sctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
	}
	if err := sig.Shutdown(sctx); err != nil {
		log.Warn("signaling shutdown: cutting the connections left", "err", err)
	}
	sig.Close()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	log.Info("stopped")
	return fatal
}

// requestReadTimeout bounds the reading of one request, its body included.
const requestReadTimeout = 30 * time.Second

// httpServer is the clinic's HTTP server. A request, its body included, is
// read within readTimeout, so that a body sent a byte every few seconds holds
// no connection for long; a WebSocket sets its own deadlines once upgraded.
func httpServer(h http.Handler, log *slog.Logger, tlsConfig *tls.Config, readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
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

// nodeAddr is where the other nodes of a cluster reach this one: the bound
// address, with an unspecified IP (0.0.0.0, ::) replaced by the host name
// (a container's or pod's own, which its network resolves), or loopback
// when there is none.
func nodeAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP != nil && !tcp.IP.IsUnspecified() {
		return a.String()
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return net.JoinHostPort(h, fmt.Sprint(tcp.Port))
	}
	return advertisedAddr(a)
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
	// What concerns one room is served by the node that hosts it
	// (onRoomNode; this node outside a cluster).
	r.HandlerFunc(http.MethodGet, "/ws", func(w http.ResponseWriter, req *http.Request) {
		c.onRoomNode(w, req, req.URL.Query().Get("room"), true, c.sig.ServeWS)
	})
	r.HandlerFunc(http.MethodGet, "/api/v1/cluster", c.serveCluster)
	r.GET("/api/v1/rooms/:room", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		room := p.ByName("room")
		c.onRoomNode(w, req, room, false, func(w http.ResponseWriter, req *http.Request) { c.sig.ServeRoom(w, req, room) })
	})
	r.POST("/api/v1/appointments/:id/admit", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		id := p.ByName("id")
		c.onRoomNode(w, req, id, false, func(w http.ResponseWriter, req *http.Request) { c.sig.ServeAdmit(w, req, id) })
	})
	r.POST("/api/v1/appointments/:id/end", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		id := p.ByName("id")
		c.onRoomNode(w, req, id, false, func(w http.ResponseWriter, req *http.Request) { c.sig.ServeEnd(w, req, id) })
	})
	c.api.Routes(r)
	c.kitAPI.Routes(r)
	c.precheckRoutes(r)
	r.HandlerFunc(http.MethodGet, "/visit/:room", c.web.VisitPage)
	r.HandlerFunc(http.MethodGet, "/call/:room", c.web.CallPage)
	r.Handler(http.MethodGet, "/static/*file", c.web.Static())
	r.HandlerFunc(http.MethodGet, "/login", c.web.LoginPage)
	r.HandlerFunc(http.MethodGet, "/console", c.web.ConsolePage)
	r.HandlerFunc(http.MethodGet, "/calendar", c.web.CalendarPage)
	r.HandlerFunc(http.MethodGet, "/admin", c.web.AdminPage)
	r.HandlerFunc(http.MethodGet, "/patients/:id", c.web.PatientPage)
	r.HandlerFunc(http.MethodGet, "/review", c.web.ReviewPage)
	r.HandlerFunc(http.MethodGet, "/triage", c.web.TriagePage)
	// Patients arrive by their invitation link; whoever opens the bare address
	// is staff, who sign in.
	r.Handler(http.MethodGet, "/", http.RedirectHandler("/login", http.StatusFound))
	return c.proxies.wrap(c.logRequests(c.guard.wrap(r)))
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
