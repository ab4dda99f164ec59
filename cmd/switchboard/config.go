package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// serverConfig is the validated configuration shared by dev and edge.
type serverConfig struct {
	Addr      string
	AdminAddr string // empty: the admin endpoints are served on Addr

	PingInterval      time.Duration
	PingTimeout       time.Duration
	MaxHTTPBufferSize int64
	MaxQueueBytes     int
	CORSOrigins       []string
	Namespaces        []string // declared namespaces, "/" first
	NamespacePattern  *regexp.Regexp
	Recovery          bool
	MaxDisconnection  time.Duration

	Services servicesConfig
	Presence presenceConfig

	LogLevel        slog.Level
	LogFormat       string
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
	Pprof           bool
	DemoHandlers    bool
}

// servicesConfig holds the settings of the NATS services gateway.
type servicesConfig struct {
	SubjectPrefix     string
	AuthNamespaces    []string // "*" means every namespace
	ServiceNamespaces []string // empty means every namespace
	AuthTimeout       time.Duration
	AckTimeout        time.Duration
	RequestTimeout    time.Duration
}

// presenceConfig holds the presence lease settings (used once presence is wired in).
type presenceConfig struct {
	TTL       time.Duration
	Heartbeat time.Duration
}

// configError lists every invalid setting; the command exits with status 2.
type configError struct{ problems []string }

func (e *configError) Error() string {
	if len(e.problems) == 1 {
		return "invalid configuration: " + e.problems[0]
	}
	return "invalid configuration:\n  " + strings.Join(e.problems, "\n  ")
}

// checker collects the problems of one command line.
type checker struct {
	c        *cli.Context
	problems []string
}

// where names a setting the way the user gave it: the environment variable
// when the value in force is the variable's, else the flag.
func (ck *checker) where(name string) string {
	if ck.fromEnv(name) {
		return envName(name)
	}
	return "--" + name
}

// fromEnv reports whether the value of flag name is the one its environment
// variable sets (urfave/cli does not say whether the command line overrode it).
func (ck *checker) fromEnv(name string) bool {
	raw, ok := os.LookupEnv(envName(name))
	if !ok {
		return false
	}
	switch v := ck.c.Value(name).(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		return err == nil && d == v
	case string:
		return raw == v
	case int:
		n, err := strconv.Atoi(raw)
		return err == nil && n == v
	case int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		return err == nil && n == v
	case bool:
		b, err := strconv.ParseBool(raw)
		return err == nil && b == v
	}
	var items []string
	for _, it := range strings.Split(raw, ",") {
		items = append(items, strings.TrimSpace(it))
	}
	return slices.Equal(items, ck.c.StringSlice(name))
}

func (ck *checker) bad(name, format string, args ...any) {
	ck.problems = append(ck.problems, ck.where(name)+": "+fmt.Sprintf(format, args...))
}

func (ck *checker) err() error {
	if len(ck.problems) == 0 {
		return nil
	}
	return &configError{problems: ck.problems}
}

func (ck *checker) positive(name string) time.Duration {
	d := ck.c.Duration(name)
	if d <= 0 {
		ck.bad(name, "must be greater than zero, got %s", d)
	}
	return d
}

// parseServerConfig reads and validates the shared flags. It has no side
// effects: nothing listens before it returned without error.
func parseServerConfig(c *cli.Context) (serverConfig, *checker) {
	ck := &checker{c: c}
	if c.NArg() > 0 {
		ck.problems = append(ck.problems, fmt.Sprintf("unexpected argument %q (flags go before arguments; this command takes none)", c.Args().First()))
	}
	cfg := serverConfig{
		Addr:              c.String(flagAddr),
		AdminAddr:         c.String(flagAdminAddr),
		PingInterval:      ck.positive(flagPingInterval),
		PingTimeout:       ck.positive(flagPingTimeout),
		MaxHTTPBufferSize: c.Int64(flagMaxHTTPBufferSize),
		MaxQueueBytes:     c.Int(flagMaxQueueBytes),
		Recovery:          c.Bool(flagRecovery),
		MaxDisconnection:  ck.positive(flagRecoveryMaxDisconnection),
		Services: servicesConfig{
			SubjectPrefix:  c.String(flagSubjectPrefix),
			AuthTimeout:    ck.positive(flagAuthTimeout),
			AckTimeout:     ck.positive(flagAckTimeout),
			RequestTimeout: ck.positive(flagRequestTimeout),
		},
		Presence: presenceConfig{
			TTL:       ck.positive(flagPresenceTTL),
			Heartbeat: ck.positive(flagPresenceHeartbeat),
		},
		LogFormat:       c.String(flagLogFormat),
		ShutdownTimeout: ck.positive(flagShutdownTimeout),
		DrainDelay:      c.Duration(flagDrainDelay),
		Pprof:           c.Bool(flagPprof),
		DemoHandlers:    c.Bool(flagDemoHandlers),
	}

	if err := checkListenAddr(cfg.Addr); err != nil {
		ck.bad(flagAddr, "%v", err)
	}
	if cfg.AdminAddr != "" {
		if err := checkListenAddr(cfg.AdminAddr); err != nil {
			ck.bad(flagAdminAddr, "%v", err)
		} else if sameListenAddr(cfg.Addr, cfg.AdminAddr) {
			ck.bad(flagAdminAddr, "must differ from --addr (%s); leave it empty to serve the admin endpoints there", cfg.Addr)
		}
	}
	if cfg.MaxHTTPBufferSize <= 0 {
		ck.bad(flagMaxHTTPBufferSize, "must be greater than zero, got %d", cfg.MaxHTTPBufferSize)
	}
	if cfg.MaxQueueBytes <= 0 {
		ck.bad(flagMaxQueueBytes, "must be greater than zero, got %d", cfg.MaxQueueBytes)
	}
	for _, o := range c.StringSlice(flagCORSOrigin) {
		if err := checkOrigin(o); err != nil {
			ck.bad(flagCORSOrigin, "%v", err)
			continue
		}
		if !slices.Contains(cfg.CORSOrigins, o) {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	cfg.Namespaces = []string{"/"}
	for _, ns := range c.StringSlice(flagNamespace) {
		if err := checkNamespace(ns); err != nil {
			ck.bad(flagNamespace, "%v", err)
			continue
		}
		if !slices.Contains(cfg.Namespaces, ns) {
			cfg.Namespaces = append(cfg.Namespaces, ns)
		}
	}
	if p := c.String(flagNamespacePattern); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			ck.bad(flagNamespacePattern, "not a valid regular expression: %v", err)
		}
		cfg.NamespacePattern = re
	}
	for _, ns := range c.StringSlice(flagAuthNamespace) {
		switch {
		case ns == "*":
		case checkNamespace(ns) != nil:
			ck.bad(flagAuthNamespace, "%v (or * for every namespace)", checkNamespace(ns))
			continue
		case !slices.Contains(cfg.Namespaces, ns) && (cfg.NamespacePattern == nil || !cfg.NamespacePattern.MatchString(ns)):
			ck.bad(flagAuthNamespace, "%q is not a namespace of this server: declare it with --namespace or match it with --namespace-pattern", ns)
			continue
		}
		if !slices.Contains(cfg.Services.AuthNamespaces, ns) {
			cfg.Services.AuthNamespaces = append(cfg.Services.AuthNamespaces, ns)
		}
	}
	for _, ns := range c.StringSlice(flagServiceNamespace) {
		if err := checkNamespace(ns); err != nil {
			ck.bad(flagServiceNamespace, "%v", err)
			continue
		}
		if !slices.Contains(cfg.Services.ServiceNamespaces, ns) {
			cfg.Services.ServiceNamespaces = append(cfg.Services.ServiceNamespaces, ns)
		}
	}
	if cfg.Presence.TTL > 0 && cfg.Presence.Heartbeat >= cfg.Presence.TTL {
		ck.bad(flagPresenceHeartbeat, "must be less than --presence-ttl (%s), got %s", cfg.Presence.TTL, cfg.Presence.Heartbeat)
	}
	if err := checkSubjectPrefix(cfg.Services.SubjectPrefix); err != nil {
		ck.bad(flagSubjectPrefix, "%v", err)
	}
	level, err := parseLevel(c.String(flagLogLevel))
	if err != nil {
		ck.bad(flagLogLevel, "%v", err)
	}
	cfg.LogLevel = level
	if err := checkLogFormat(cfg.LogFormat); err != nil {
		ck.bad(flagLogFormat, "%v", err)
	}
	if cfg.DrainDelay < 0 {
		ck.bad(flagDrainDelay, "must not be negative, got %s", cfg.DrainDelay)
	}
	return cfg, ck
}

// checkListenAddr accepts host:port with a numeric port (0 for any free one).
func checkListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :3000 or 127.0.0.1:3000)", addr)
	}
	if _, err := parsePort(port); err != nil {
		return fmt.Errorf("%q: %v", addr, err)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: invalid host", addr)
	}
	return nil
}

func parsePort(port string) (int, error) {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("port must be a number from 0 to 65535, got %q", port)
	}
	return n, nil
}

// sameListenAddr reports whether a and b would bind the same port (an
// explicit port 0 never collides).
func sameListenAddr(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// checkOrigin accepts "*" or a browser origin: scheme://host[:port], no path.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an origin like https://app.example.com or *", o)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: an origin is scheme://host[:port] only, without path, query or credentials", o)
	}
	if u.Path == "/" {
		return fmt.Errorf("%q: remove the trailing slash (browsers send origins without it)", o)
	}
	return nil
}

// checkNamespace accepts names that a Socket.IO client can send in a packet.
func checkNamespace(ns string) error {
	if !strings.HasPrefix(ns, "/") {
		return fmt.Errorf("namespace %q must start with /", ns)
	}
	if i := strings.IndexFunc(ns, func(r rune) bool {
		return r == ',' || r == '?' || r == '#' || r <= ' ' || r == 0x7f
	}); i >= 0 {
		return fmt.Errorf("namespace %q must not contain %q", ns, ns[i:i+1])
	}
	return nil
}

var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checkSubjectPrefix accepts dot-separated tokens of [A-Za-z0-9_-].
func checkSubjectPrefix(p string) error {
	if p == "" {
		return errors.New("must not be empty")
	}
	for _, tok := range strings.Split(p, ".") {
		if !subjectToken.MatchString(tok) {
			return fmt.Errorf("%q is not a NATS subject prefix: dot-separated tokens of letters, digits, _ and - (e.g. sb or acme.prod)", p)
		}
	}
	return nil
}

// checkNodeID accepts one subject token of at most 64 bytes.
func checkNodeID(id string) error {
	if len(id) > 64 || !subjectToken.MatchString(id) {
		return fmt.Errorf("%q: a node id is 1 to 64 letters, digits, _ or -", id)
	}
	return nil
}

// checkNATSURLs accepts a comma-separated list of NATS server URLs.
func checkNATSURLs(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a URL like nats://127.0.0.1:4222", raw)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("%q: scheme must be nats, tls, ws or wss", raw)
		}
	}
	return nil
}
