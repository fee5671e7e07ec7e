package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"vclinic/internal/records/audit"
	"vclinic/scheduler"
	"vclinic/signaling"
	"vclinic/signaling/cluster"
)

// serveConfig is everything `vclinic` reads from flags and the environment.
type serveConfig struct {
	Addr           string
	Data           string
	UDPPort        int
	TCPPort        int
	PublicHost     string
	LogLevel       string
	TLSCert        string
	TLSKey         string
	Demo           bool
	Grace          time.Duration
	AllowedOrigins string
	ShutdownWait   time.Duration
	Postgres       string
	PublicURL      string
	NodeURL        string
	CalendarEmail  string
	Language       string
	SMTP           string
	SMTPPassword   string
	SMSURL         string
	SMSTemplate    string
	SMSContentType string
	SMSAuthFile    string
	SMSFrom        string
	TURNURLs       string
	TURNSecretFile string
	TURNTTL        time.Duration
	AuditRetention time.Duration
	SessionIdle    time.Duration
	TrustedProxies string
	Redis          string
	NodeID         string
	RoomLease      time.Duration
	CareWindow     time.Duration
	CPRKeyFile     string
	OIDCIssuer     string
	OIDCClientID   string
	OIDCSecretFile string
	OIDCRolesClaim string
	OIDCRoleMap    string
	MediaBind      string
	MaxCPU         float64
	MaxPPS         int
	DebugAddr      string
	UDPBatch       bool
	PublicUDPPort  int
	PublicTCPPort  int
	ICELite        bool
}

// envFlag describes one flag and its environment variable.
type envFlag struct {
	name, env, usage string
}

var serveFlags = []envFlag{
	{"addr", "VCLINIC_ADDR", "`host:port` to serve HTTP(S) on; port 0 picks a free port"},
	{"data", "VCLINIC_DATA", "data `directory` (signing keys, records); created on first start"},
	{"udp-port", "VCLINIC_UDP_PORT", "the one UDP `port` for all media (ICE UDP mux); 0 picks a free port"},
	{"tcp-port", "VCLINIC_TCP_PORT", "ICE-TCP `port`, the fallback when UDP is blocked; 0 picks a free port, -1 turns it off"},
	{"media-bind", "VCLINIC_MEDIA_BIND", "comma-separated IP `addresses` the media ports (-udp-port, -tcp-port) listen on; default every interface address"},
	{"public-host", "VCLINIC_PUBLIC_HOST", "`address` (IP or name) to advertise for media when behind NAT"},
	{"public-udp-port", "VCLINIC_PUBLIC_UDP_PORT", "UDP `port` to advertise for media instead of -udp-port, where a port forward (a Kubernetes NodePort, a router) maps it to ours; 0 advertises -udp-port"},
	{"ice-lite", "VCLINIC_ICE_LITE", "answer clients' ICE checks and send none (RFC 8445 ICE-lite): media takes the path the clients' checks took; for a server on a public address or behind a port forward"},
	{"public-tcp-port", "VCLINIC_PUBLIC_TCP_PORT", "ICE-TCP `port` to advertise instead of -tcp-port, as -public-udp-port; 0 advertises -tcp-port"},
	{"log-level", "VCLINIC_LOG_LEVEL", "`level` of logs: debug, info, warn or error"},
	{"tls-cert", "VCLINIC_TLS_CERT", "TLS certificate `file` (PEM); browsers allow cameras only on HTTPS or localhost"},
	{"tls-key", "VCLINIC_TLS_KEY", "TLS private key `file` (PEM)"},
	{"demo", "VCLINIC_DEMO", "create a demo room and print a clinician and a patient link"},
	{"grace", "VCLINIC_GRACE", "how long a dropped participant keeps its place (`duration`)"},
	{"allowed-origins", "VCLINIC_ALLOWED_ORIGINS", "comma-separated extra `origins` allowed to open the WebSocket"},
	{"shutdown-wait", "VCLINIC_SHUTDOWN_WAIT", "how long to wait for clients on SIGTERM (`duration`)"},
	{"postgres", "VCLINIC_POSTGRES", "PostgreSQL `URL` for the records (a cluster); empty keeps them in SQLite in the data directory"},
	{"public-url", "VCLINIC_PUBLIC_URL", "`URL` invitation links point to (https://clinic.example.org); default the address served"},
	{"node-url", "VCLINIC_NODE_URL", "`URL` at which the other nodes of a cluster reach this node's HTTP to relay a visit's signaling (http://10.0.3.7:8080), not the load balancer's public URL; default the address served, with the host name for 0.0.0.0"},
	{"calendar-email", "VCLINIC_CALENDAR_EMAIL", "e-mail `address` that organizes calendar invitations (ICS ORGANIZER)"},
	{"smtp", "VCLINIC_SMTP", "`URL` of the SMTP server that sends patients' invitations and reminders: smtp://user@host:587 (STARTTLS, refuses to send without it) or smtps://user@host:465 (TLS); From is -calendar-email"},
	{"smtp-password-file", "VCLINIC_SMTP_PASSWORD_FILE", "`file` holding the SMTP user's password"},
	{"sms-url", "VCLINIC_SMS_URL", "the SMS provider's `URL`: each SMS is a POST of -sms-template-file to it, and a 2xx answer means sent"},
	{"sms-template-file", "VCLINIC_SMS_TEMPLATE_FILE", "`file` holding a Go text/template of the SMS request's body, with .To (E.164), .Text, .From and .ID (the message's id, for delivery reports); {{json .Text}} quotes a JSON string"},
	{"sms-content-type", "VCLINIC_SMS_CONTENT_TYPE", "Content-Type of the SMS request (`type`)"},
	{"sms-auth-file", "VCLINIC_SMS_AUTH_FILE", "`file` holding the value of the Authorization header sent to the SMS provider; its delivery reports to POST /api/v1/sms/status must carry the same"},
	{"sms-from", "VCLINIC_SMS_FROM", "the SMS sender (`name or number`) the template gets as .From"},
	{"language", "VCLINIC_LANGUAGE", "the `language` patients read unless they chose their own, da or en; it seeds the clinic's settings on first start only, after which admins change it (PUT /api/v1/settings)"},
	{"turn-urls", "VCLINIC_TURN_URLS", "comma-separated TURN server `URLs` handed to browsers (turn:host:3478?transport=udp,turns:host:443?transport=tcp)"},
	{"turn-secret-file", "VCLINIC_TURN_SECRET_FILE", "`file` holding the TURN server's shared secret (coturn static-auth-secret); each participant gets a short-lived credential"},
	{"turn-ttl", "VCLINIC_TURN_TTL", "how long a TURN credential lasts (`duration`)"},
	{"audit-retention", "VCLINIC_AUDIT_RETENTION", "how long audit log rows are kept before they are purged (`duration`, at least 8760h)"},
	{"session-idle", "VCLINIC_SESSION_IDLE", "how long a staff sign-in lasts without a request (`duration`); it lasts 12h at most"},
	{"trusted-proxies", "VCLINIC_TRUSTED_PROXIES", "comma-separated `addresses or CIDRs` of reverse proxies whose X-Forwarded-For names the client"},
	{"redis", "VCLINIC_REDIS", "Redis `URL` (redis://, rediss:// for TLS, unix://; ?addr=host:port more than once for a Redis Cluster, ?master=name for Sentinel) that, with -postgres, makes this node part of a cluster"},
	{"node-id", "VCLINIC_NODE_ID", "this node's `id` in a cluster, stable across restarts; default the host name and the HTTP port, e.g. web3-8080"},
	{"cpr-key-file", "VCLINIC_CPR_KEY_FILE", "`file` holding the key that encrypts CPR numbers at rest (32 random bytes, base64); default cpr.key in the data directory, made on first start; with -postgres it must exist, the same file on every node, and be backed up apart from the database"},
	{"care-window", "VCLINIC_CARE_WINDOW", "how far before and after today an appointment gives its clinician access to the patient's clinical data (`duration`)"},
	{"oidc-issuer", "VCLINIC_OIDC_ISSUER", "issuer `URL` of the region's OpenID Connect identity provider, through which staff sign in (redirect URI: the public URL + /auth/callback); passwords keep working"},
	{"oidc-client-id", "VCLINIC_OIDC_CLIENT_ID", "the clinic's client `id` at the identity provider"},
	{"oidc-client-secret-file", "VCLINIC_OIDC_CLIENT_SECRET_FILE", "`file` holding the client secret at the identity provider; none makes a public client (PKCE alone)"},
	{"oidc-roles-claim", "VCLINIC_OIDC_ROLES_CLAIM", "the `claim` of the ID token or UserInfo that holds the staff member's roles or groups (a dotted name reaches into objects: realm_access.roles)"},
	{"oidc-role-map", "VCLINIC_OIDC_ROLE_MAP", "which values of the roles claim give which role here: `clinician=GROUP,scheduler=GROUP,admin=GROUP` (a role may be named more than once)"},
	{"max-cpu", "VCLINIC_MAX_CPU", "busy `fraction` of the machine's cores (0.85 is 85%) past which the node takes no new visits, so that the ones it carries keep their quality; a cluster places them on other nodes; 0 is no limit"},
	{"max-forwarded-pps", "VCLINIC_MAX_FORWARDED_PPS", "media `packets` forwarded a second past which the node takes no new visits (see -max-cpu; BENCHMARKS.md has what a core forwards); 0 is no limit"},
	{"udp-batch", "VCLINIC_UDP_BATCH", "move media datagrams in batches, one sendmmsg or recvmmsg system call for many (Linux); false sends and receives one per call"},
	{"debug-addr", "VCLINIC_DEBUG_ADDR", "loopback `host:port` to serve Go's profiles on (/debug/pprof/: CPU, heap, goroutines) for the operations team; empty serves none"},
	{"room-lease", "VCLINIC_ROOM_LEASE", "how long a cluster node's hold on a room lasts unless renewed (`duration`): a dead node's visits move once it lapses, and a PostgreSQL outage longer than it moves the visits too"},
}

func parseServeConfig(args []string, stderr io.Writer) (serveConfig, error) {
	cfg := serveConfig{
		Addr:         "127.0.0.1:8080",
		Data:         "./vclinic-data",
		UDPPort:      7882,
		TCPPort:      7881,
		LogLevel:     "info",
		Grace:        20 * time.Second,
		ShutdownWait: 10 * time.Second,
		TURNTTL:      12 * time.Hour,
		// Ten years, as Danish health records are kept.
		AuditRetention: audit.DefaultRetention,
		SessionIdle:    30 * time.Minute,
		RoomLease:      cluster.DefaultLeaseTTL,
		CareWindow:     scheduler.DefaultCareWindow,
		OIDCRolesClaim: "groups",
		UDPBatch:       true,
		Language:       "da",
		SMSContentType: "application/json",
	}
	fs := flag.NewFlagSet("vclinic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ptrs := map[string]any{
		"addr": &cfg.Addr, "data": &cfg.Data, "udp-port": &cfg.UDPPort, "tcp-port": &cfg.TCPPort,
		"public-host": &cfg.PublicHost, "log-level": &cfg.LogLevel, "tls-cert": &cfg.TLSCert,
		"tls-key": &cfg.TLSKey, "demo": &cfg.Demo, "grace": &cfg.Grace,
		"allowed-origins": &cfg.AllowedOrigins, "shutdown-wait": &cfg.ShutdownWait,
		"postgres": &cfg.Postgres, "public-url": &cfg.PublicURL, "node-url": &cfg.NodeURL, "calendar-email": &cfg.CalendarEmail,
		"language": &cfg.Language, "smtp": &cfg.SMTP, "smtp-password-file": &cfg.SMTPPassword,
		"sms-url": &cfg.SMSURL, "sms-template-file": &cfg.SMSTemplate, "sms-content-type": &cfg.SMSContentType,
		"sms-auth-file": &cfg.SMSAuthFile, "sms-from": &cfg.SMSFrom,
		"turn-urls": &cfg.TURNURLs, "turn-secret-file": &cfg.TURNSecretFile, "turn-ttl": &cfg.TURNTTL,
		"audit-retention": &cfg.AuditRetention, "session-idle": &cfg.SessionIdle, "trusted-proxies": &cfg.TrustedProxies,
		"redis": &cfg.Redis, "node-id": &cfg.NodeID, "room-lease": &cfg.RoomLease, "care-window": &cfg.CareWindow, "cpr-key-file": &cfg.CPRKeyFile,
		"oidc-issuer": &cfg.OIDCIssuer, "oidc-client-id": &cfg.OIDCClientID, "oidc-client-secret-file": &cfg.OIDCSecretFile,
		"oidc-roles-claim": &cfg.OIDCRolesClaim, "oidc-role-map": &cfg.OIDCRoleMap, "media-bind": &cfg.MediaBind,
		"max-cpu": &cfg.MaxCPU, "max-forwarded-pps": &cfg.MaxPPS, "debug-addr": &cfg.DebugAddr, "udp-batch": &cfg.UDPBatch,
		"public-udp-port": &cfg.PublicUDPPort, "public-tcp-port": &cfg.PublicTCPPort, "ice-lite": &cfg.ICELite,
	}
	// Environment first, so that flags override it.
	for _, f := range serveFlags {
		v, ok := os.LookupEnv(f.env)
		if !ok {
			continue
		}
		if err := setValue(ptrs[f.name], v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", f.env, v, err)
		}
	}
	for _, f := range serveFlags {
		usage := f.usage + " [$" + f.env + "]"
		switch p := ptrs[f.name].(type) {
		case *string:
			fs.StringVar(p, f.name, *p, usage)
		case *int:
			fs.IntVar(p, f.name, *p, usage)
		case *bool:
			fs.BoolVar(p, f.name, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, f.name, *p, usage)
		case *float64:
			fs.Float64Var(p, f.name, *p, usage)
		default:
			// A flag documented but not wired would be taken silently from
			// the environment and refused on the command line.
			return cfg, fmt.Errorf("flag -%s has no setting behind it", f.name)
		}
	}
	fs.Usage = func() {
		printUsage(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see vclinic -h)", fs.Arg(0))
	}
	return cfg, cfg.validate()
}

func setValue(p any, v string) error {
	switch p := p.(type) {
	case *string:
		*p = v
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("want a whole number")
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("want a duration such as 20s")
		}
		*p = d
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errors.New("want a number such as 0.85")
		}
		*p = f
	}
	return nil
}

func (c serveConfig) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr %q: %w", c.Addr, err)
	}
	if c.Data == "" {
		return errors.New("-data: empty")
	}
	if c.SMTP != "" && c.CalendarEmail == "" {
		return errors.New("-smtp needs -calendar-email: the address messages come from")
	}
	if !slices.Contains(scheduler.Languages, c.Language) {
		return fmt.Errorf("-language %q: want da or en", c.Language)
	}
	if c.NodeURL != "" {
		u, err := url.Parse(c.NodeURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("-node-url %q: want http(s)://host:port, the address other nodes reach this one at", c.NodeURL)
		}
	}
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		return fmt.Errorf("-udp-port %d: want 0-65535", c.UDPPort)
	}
	if c.TCPPort < -1 || c.TCPPort > 65535 {
		return fmt.Errorf("-tcp-port %d: want -1 (off) or 0-65535", c.TCPPort)
	}
	if c.PublicUDPPort < 0 || c.PublicUDPPort > 65535 {
		return fmt.Errorf("-public-udp-port %d: want 0-65535", c.PublicUDPPort)
	}
	if c.PublicTCPPort < 0 || c.PublicTCPPort > 65535 {
		return fmt.Errorf("-public-tcp-port %d: want 0-65535", c.PublicTCPPort)
	}
	for _, a := range splitList(c.MediaBind) {
		if ip := net.ParseIP(a); ip == nil || ip.IsUnspecified() {
			return fmt.Errorf("-media-bind %q: want IP addresses of this machine (leave it empty for all)", a)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.Grace <= 0 {
		return fmt.Errorf("-grace %s: want more than 0", c.Grace)
	}
	if (c.TURNURLs == "") != (c.TURNSecretFile == "") {
		return errors.New("-turn-urls and -turn-secret-file go together")
	}
	if c.TURNTTL < time.Hour {
		return fmt.Errorf("-turn-ttl %s: want at least 1h, longer than a visit", c.TURNTTL)
	}
	if _, err := parseTrustedProxies(c.TrustedProxies); err != nil {
		return err
	}
	if c.Redis != "" && c.Postgres == "" {
		return errors.New("-redis makes a cluster node, and a cluster keeps its records in PostgreSQL: give -postgres too")
	}
	if c.Redis != "" {
		if _, err := redisOptions(c.Redis); err != nil {
			return err
		}
	}
	if c.NodeID != "" && !nodeIDPattern.MatchString(c.NodeID) {
		return fmt.Errorf("-node-id %q: want 1-64 letters, digits, ., - or _", c.NodeID)
	}
	if c.CareWindow < 24*time.Hour || c.CareWindow > 366*24*time.Hour {
		return fmt.Errorf("-care-window %s: want 24h to 8784h", c.CareWindow)
	}
	if c.RoomLease < time.Second || c.RoomLease > 5*time.Minute {
		return fmt.Errorf("-room-lease %s: want 1s to 5m", c.RoomLease)
	}
	if c.SessionIdle < time.Minute || c.SessionIdle > 12*time.Hour {
		return fmt.Errorf("-session-idle %s: want 1m to 12h", c.SessionIdle)
	}
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		if err != nil || !isLoopbackHost(host) {
			return fmt.Errorf("-debug-addr %q: want a loopback host:port such as 127.0.0.1:6060 (profiles are not for the network)", c.DebugAddr)
		}
	}
	if c.MaxCPU < 0 || c.MaxCPU > 1 {
		return fmt.Errorf("-max-cpu %v: want a fraction of the cores from 0 (no limit) to 1", c.MaxCPU)
	}
	if c.MaxPPS < 0 {
		return fmt.Errorf("-max-forwarded-pps %d: want 0 (no limit) or more", c.MaxPPS)
	}
	if err := c.validateOIDC(); err != nil {
		return err
	}
	if c.AuditRetention < audit.MinRetention {
		return fmt.Errorf("-audit-retention %s: want at least %s (a year)", c.AuditRetention, audit.MinRetention)
	}
	return nil
}

// turn reads the TURN configuration: nil when none is set.
func (c serveConfig) turn() (*signaling.TURN, error) {
	if c.TURNURLs == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.TURNSecretFile)
	if err != nil {
		return nil, fmt.Errorf("-turn-secret-file: %w", err)
	}
	t := &signaling.TURN{URLs: splitList(c.TURNURLs), Secret: []byte(strings.TrimSpace(string(b))), TTL: c.TURNTTL}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("-turn-urls, -turn-secret-file: %w", err)
	}
	return t, nil
}

// validateOIDC checks the identity provider's flags, which go together.
func (c serveConfig) validateOIDC() error {
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" || c.OIDCSecretFile != "" || c.OIDCRoleMap != "" {
			return errors.New("-oidc-client-id, -oidc-client-secret-file and -oidc-role-map need -oidc-issuer")
		}
		return nil
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
		return fmt.Errorf("-oidc-issuer %q: want an https URL (http only on this machine)", c.OIDCIssuer)
	}
	if c.OIDCClientID == "" {
		return errors.New("-oidc-issuer needs -oidc-client-id")
	}
	if c.OIDCRolesClaim == "" {
		return errors.New("-oidc-roles-claim: empty")
	}
	if c.OIDCRoleMap == "" {
		return errors.New("-oidc-issuer needs -oidc-role-map (clinician=GROUP,scheduler=GROUP,admin=GROUP)")
	}
	if _, err := scheduler.ParseRoleMap(c.OIDCRoleMap); err != nil {
		return fmt.Errorf("-oidc-role-map: %w", err)
	}
	return nil
}

// oidc reads the identity provider's configuration: nil when none is set.
// redirect is the public URL of /auth/callback.
func (c serveConfig) oidc(redirect string) (*scheduler.OIDCConfig, error) {
	if c.OIDCIssuer == "" {
		return nil, nil
	}
	roles, err := scheduler.ParseRoleMap(c.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("-oidc-role-map: %w", err)
	}
	o := &scheduler.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, RedirectURL: redirect,
		RolesClaim: c.OIDCRolesClaim, RoleMap: roles}
	if c.OIDCSecretFile != "" {
		b, err := os.ReadFile(c.OIDCSecretFile)
		if err != nil {
			return nil, fmt.Errorf("-oidc-client-secret-file: %w", err)
		}
		if o.ClientSecret = strings.TrimSpace(string(b)); o.ClientSecret == "" {
			return nil, errors.New("-oidc-client-secret-file: empty")
		}
	}
	return o, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("-log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// publicIPs resolves -public-host to the IPs to advertise.
func publicIPs(host string) ([]string, error) {
	if host == "" {
		return nil, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return []string{ip.String()}, nil
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return nil, fmt.Errorf("-public-host %q: %w", host, err)
	}
	return addrs, nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
