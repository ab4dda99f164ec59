package main

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// TestInvalidFlags runs commands with bad values: each must fail with a
// clear message, exit status 2, before anything listens.
func TestInvalidFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string // after "dev --addr A --nats-listen N" (or edge)
		want []string // substrings of the error
		edge bool
	}{
		{"ping timeout zero", []string{"--ping-timeout", "0"}, []string{"--ping-timeout: must be greater than zero, got 0s"}, false},
		{"ping interval negative", []string{"--ping-interval", "-1s"}, []string{"--ping-interval: must be greater than zero, got -1s"}, false},
		{"ack timeout zero", []string{"--ack-timeout", "0s"}, []string{"--ack-timeout: must be greater than zero"}, false},
		{"auth timeout negative", []string{"--auth-timeout", "-5s"}, []string{"--auth-timeout: must be greater than zero"}, false},
		{"request timeout zero", []string{"--request-timeout", "0"}, []string{"--request-timeout: must be greater than zero"}, false},
		{"recovery window zero", []string{"--recovery", "--recovery-max-disconnection", "0"}, []string{"--recovery-max-disconnection: must be greater than zero"}, false},
		{"presence ttl zero", []string{"--presence-ttl", "0"}, []string{"--presence-ttl: must be greater than zero"}, false},
		{"heartbeat not below ttl", []string{"--presence-ttl", "15s", "--presence-heartbeat", "20s"}, []string{"--presence-heartbeat: must be less than --presence-ttl (15s), got 20s"}, false},
		{"shutdown timeout zero", []string{"--shutdown-timeout", "0"}, []string{"--shutdown-timeout: must be greater than zero"}, false},
		{"drain delay negative", []string{"--drain-delay", "-1s"}, []string{"--drain-delay: must not be negative"}, false},
		{"log level", []string{"--log-level", "verbose"}, []string{`--log-level: unknown log level "verbose": use debug, info, warn or error`}, false},
		{"log format", []string{"--log-format", "xml"}, []string{`--log-format: unknown log format "xml": use text or json`}, false},
		{"namespace without slash", []string{"--namespace", "chat"}, []string{`--namespace: namespace "chat" must start with /`}, false},
		{"namespace with query", []string{"--namespace", "/a?b"}, []string{`--namespace: namespace "/a?b" must not contain "?"`}, false},
		{"namespace list", []string{"--namespace", "/a,b"}, []string{`--namespace: namespace "b" must start with /`}, false},
		{"bad pattern", []string{"--namespace-pattern", "^/(dyn"}, []string{"--namespace-pattern: not a valid regular expression: error parsing regexp"}, false},
		{"auth namespace unknown", []string{"--auth-namespace", "/admin"}, []string{`--auth-namespace: "/admin" is not a namespace of this server`}, false},
		{"auth namespace without slash", []string{"--auth-namespace", "admin"}, []string{`--auth-namespace: namespace "admin" must start with / (or * for every namespace)`}, false},
		{"subject prefix wildcard", []string{"--subject-prefix", "sb.>"}, []string{`--subject-prefix: "sb.>" is not a NATS subject prefix`}, false},
		{"subject prefix empty token", []string{"--subject-prefix", "sb..x"}, []string{`--subject-prefix: "sb..x" is not a NATS subject prefix`}, false},
		{"subject prefix empty", []string{"--subject-prefix="}, []string{"--subject-prefix: must not be empty"}, false},
		{"buffer size zero", []string{"--max-http-buffer-size", "0"}, []string{"--max-http-buffer-size: must be greater than zero, got 0"}, false},
		{"queue bytes negative", []string{"--max-queue-bytes", "-1"}, []string{"--max-queue-bytes: must be greater than zero, got -1"}, false},
		{"origin trailing slash", []string{"--cors-origin", "https://app.example.com/"}, []string{"--cors-origin: \"https://app.example.com/\": remove the trailing slash"}, false},
		{"origin not a url", []string{"--cors-origin", "app.example.com"}, []string{`--cors-origin: "app.example.com" is not an origin`}, false},
		{"addr without port", []string{"--addr", "3000"}, []string{`--addr: "3000" is not host:port`}, false},
		{"addr port range", []string{"--addr", "127.0.0.1:99999"}, []string{`--addr: "127.0.0.1:99999": port must be a number from 0 to 65535`}, false},
		{"admin addr same as addr", []string{"--addr", "127.0.0.1:38123", "--admin-addr", "127.0.0.1:38123"}, []string{"--admin-addr: must differ from --addr"}, false},
		{"nats listen", []string{"--nats-listen", "nowhere"}, []string{`--nats-listen: "nowhere" is not host:port`}, false},
		{"argument", []string{"extra"}, []string{`unexpected argument "extra"`}, false},
		{"several problems at once", []string{"--ping-timeout", "0", "--log-level", "loud"}, []string{"invalid configuration:\n", "--ping-timeout: must be greater than zero", `--log-level: unknown log level "loud"`}, false},
		{"edge nats url scheme", []string{"--nats-url", "http://127.0.0.1:4222"}, []string{`--nats-url: "http://127.0.0.1:4222": scheme must be nats, tls, ws or wss`}, true},
		{"edge nats url empty", []string{"--nats-url", ""}, []string{"--nats-url: must not be empty"}, true},
		{"edge node id", []string{"--node-id", "a.b"}, []string{`--node-id: "a.b": a node id is 1 to 64 letters`}, true},
		{"edge ping timeout", []string{"--ping-timeout", "0"}, []string{"--ping-timeout: must be greater than zero"}, true},
		{"edge demo still validated", []string{"--namespace", "x"}, []string{`namespace "x" must start with /`}, true},
		{"edge adapter", []string{"--adapter", "kafka"}, []string{`--adapter: must be one of redis, nats, memory, got "kafka"`}, true},
		{"edge presence store", []string{"--presence", "etcd"}, []string{`--presence: must be redis or memory, got "etcd"`}, true},
		{"edge redis url scheme", []string{"--redis-url", "http://127.0.0.1:6379"}, []string{`--redis-url: scheme must be redis://, rediss:// or unix://`}, true},
		{"edge redis url host", []string{"--redis-url", "redis://"}, []string{`--redis-url: no host in "redis://"`}, true},
		{"edge redis key", []string{"--redis-key", "a#b"}, []string{`--redis-key: must be non-empty and without '#'`}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, natsAddr := freeAddr(t), freeAddr(t)
			args := []string{"dev", "--addr", addr, "--nats-listen", natsAddr}
			if tc.edge {
				args = []string{"edge", "--addr", addr, "--nats-url", "nats://" + natsAddr}
			}
			args = append(args, tc.args...)
			_, stderr, err := runArgs(t, 5*time.Second, args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a configuration error", err)
			}
			if got := exitStatus(new(testutil.SyncBuffer), err); got != 2 {
				t.Errorf("exit status %d, want 2", got)
			}
			if stderr != "" {
				t.Errorf("wrote to stderr before failing: %q", stderr)
			}
			notListening(t, addr)
			notListening(t, natsAddr)
		})
	}
}

// TestUsageErrors: what urfave/cli cannot parse is a usage error (status 2)
// that names the command's help.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--ping-interval", "soon"}, `invalid value "soon" for flag -ping-interval`},
		{[]string{"dev", "--bogus"}, "flag provided but not defined: -bogus (see 'switchboard dev --help')"},
		{[]string{"edge", "--max-queue-bytes", "lots"}, `invalid value "lots" for flag -max-queue-bytes`},
		{[]string{"bogus"}, `unknown command "bogus"`},
	}
	for _, tc := range cases {
		_, _, err := runArgs(t, 5*time.Second, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.args, err, tc.want)
			continue
		}
		if got := exitStatus(new(testutil.SyncBuffer), err); got != 2 {
			t.Errorf("%q: exit status %d, want 2", tc.args, got)
		}
	}
}

// parseWith parses args (after the command name) with the dev flags and
// returns the configuration, without running anything.
func parseWith(t *testing.T, args ...string) (serverConfig, error) {
	t.Helper()
	var cfg serverConfig
	var perr error
	app := &cli.App{
		Name:           "switchboard",
		Writer:         new(testutil.SyncBuffer),
		ErrWriter:      new(testutil.SyncBuffer),
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{
			Name:  "dev",
			Flags: devFlags(),
			Action: func(c *cli.Context) error {
				var ck *checker
				cfg, ck = parseServerConfig(c)
				perr = ck.err()
				return nil
			},
		}},
	}
	if err := app.Run(append([]string{"switchboard", "dev"}, args...)); err != nil {
		return cfg, err
	}
	return cfg, perr
}

func TestDefaults(t *testing.T) {
	cfg, err := parseWith(t)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", cfg.Addr, ":3000"},
		{"admin addr", cfg.AdminAddr, ""},
		{"ping interval", cfg.PingInterval, 25 * time.Second},
		{"ping timeout", cfg.PingTimeout, 20 * time.Second},
		{"max http buffer size", cfg.MaxHTTPBufferSize, int64(1_000_000)},
		{"max queue bytes", cfg.MaxQueueBytes, 1 << 20},
		{"recovery", cfg.Recovery, false},
		{"recovery window", cfg.MaxDisconnection, 2 * time.Minute},
		{"ack timeout", cfg.Services.AckTimeout, 10 * time.Second},
		{"auth timeout", cfg.Services.AuthTimeout, 5 * time.Second},
		{"request timeout", cfg.Services.RequestTimeout, 5 * time.Second},
		{"presence ttl", cfg.Presence.TTL, 15 * time.Second},
		{"presence heartbeat", cfg.Presence.Heartbeat, 5 * time.Second},
		{"subject prefix", cfg.Services.SubjectPrefix, "sb"},
		{"log level", cfg.LogLevel.String(), "INFO"},
		{"log format", cfg.LogFormat, "text"},
		{"shutdown timeout", cfg.ShutdownTimeout, 10 * time.Second},
		{"drain delay", cfg.DrainDelay, time.Duration(0)},
		{"demo handlers (dev)", cfg.DemoHandlers, true},
		{"namespaces", strings.Join(cfg.Namespaces, ","), "/"},
		{"pattern", cfg.NamespacePattern == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFlagValues(t *testing.T) {
	cfg, err := parseWith(t,
		"--namespace", "/chat", "--namespace", "/chat", "--namespace", "/",
		"--namespace-pattern", `^/room-\d+$`,
		"--auth-namespace", "/chat", "--auth-namespace", "/room-7", "--auth-namespace", "*",
		"--cors-origin", "https://a.example", "--cors-origin", "*",
		"--subject-prefix", "acme.prod-1",
		"--log-level", "warn", "--log-format", "json",
		"--demo-handlers=false",
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Namespaces, ","); got != "/,/chat" {
		t.Errorf("namespaces %q", got)
	}
	if !cfg.NamespacePattern.MatchString("/room-42") {
		t.Error("pattern does not match /room-42")
	}
	if got := strings.Join(cfg.Services.AuthNamespaces, ","); got != "/chat,/room-7,*" {
		t.Errorf("auth namespaces %q", got)
	}
	if got := strings.Join(cfg.CORSOrigins, ","); got != "https://a.example,*" {
		t.Errorf("origins %q", got)
	}
	if cfg.Services.SubjectPrefix != "acme.prod-1" || cfg.LogLevel.String() != "WARN" || cfg.LogFormat != "json" || cfg.DemoHandlers {
		t.Errorf("cfg %+v", cfg)
	}
}

// TestEnvOverride: every setting can come from SWITCHBOARD_<NAME>; the
// command line wins; a bad value names the variable.
func TestEnvOverride(t *testing.T) {
	t.Setenv("SWITCHBOARD_ADDR", "127.0.0.1:0")
	t.Setenv("SWITCHBOARD_PING_INTERVAL", "7s")
	t.Setenv("SWITCHBOARD_PING_TIMEOUT", "3s")
	t.Setenv("SWITCHBOARD_MAX_HTTP_BUFFER_SIZE", "2048")
	t.Setenv("SWITCHBOARD_NAMESPACE", "/a, /b")
	t.Setenv("SWITCHBOARD_CORS_ORIGIN", "https://a.example,https://b.example")
	t.Setenv("SWITCHBOARD_RECOVERY", "true")
	t.Setenv("SWITCHBOARD_SUBJECT_PREFIX", "acme")
	t.Setenv("SWITCHBOARD_LOG_LEVEL", "debug")
	t.Setenv("SWITCHBOARD_DEMO_HANDLERS", "false")
	cfg, err := parseWith(t, "--ping-timeout", "4s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:0" || cfg.PingInterval != 7*time.Second || cfg.MaxHTTPBufferSize != 2048 ||
		!cfg.Recovery || cfg.Services.SubjectPrefix != "acme" || cfg.LogLevel.String() != "DEBUG" || cfg.DemoHandlers {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.PingTimeout != 4*time.Second {
		t.Errorf("ping timeout %s: the flag must win over the environment", cfg.PingTimeout)
	}
	if got := strings.Join(cfg.Namespaces, ","); got != "/,/a,/b" {
		t.Errorf("namespaces %q", got)
	}
	if got := strings.Join(cfg.CORSOrigins, ","); got != "https://a.example,https://b.example" {
		t.Errorf("origins %q", got)
	}

	t.Setenv("SWITCHBOARD_PING_TIMEOUT", "0s")
	if _, err := parseWith(t); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_PING_TIMEOUT: must be greater than zero") {
		t.Errorf("bad environment value: error %v", err)
	}
	t.Setenv("SWITCHBOARD_PING_TIMEOUT", "later")
	if _, err := parseWith(t); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_PING_TIMEOUT") {
		t.Errorf("unparseable environment value: error %v", err)
	}
}

// TestEveryFlagHasItsEnvVar checks the naming rule on every flag of both commands.
func TestEveryFlagHasItsEnvVar(t *testing.T) {
	for _, flags := range [][]cli.Flag{devFlags(), edgeFlags()} {
		for _, f := range flags {
			name := f.Names()[0]
			want := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			ev, ok := f.(interface{ GetEnvVars() []string })
			if !ok || !slices.Equal(ev.GetEnvVars(), []string{want}) {
				t.Errorf("--%s: env vars %v, want %s", name, ev.GetEnvVars(), want)
			}
		}
	}
}

// TestSharedFlagNames pins the names of the shared flags (scripts, the
// docs and other nodes' configurations rely on them).
func TestSharedFlagNames(t *testing.T) {
	want := []string{"addr", "admin-addr", "ping-interval", "ping-timeout", "max-http-buffer-size",
		"cors-origin", "namespace", "namespace-pattern", "auth-namespace", "recovery",
		"recovery-max-disconnection", "ack-timeout", "auth-timeout", "request-timeout", "presence-ttl",
		"presence-heartbeat", "subject-prefix", "log-level", "log-format", "max-queue-bytes",
		"shutdown-timeout", "drain-delay"}
	for cmd, flags := range map[string][]cli.Flag{"dev": devFlags(), "edge": edgeFlags()} {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				t.Errorf("%s: no --%s", cmd, w)
			}
		}
	}
}

func TestHelp(t *testing.T) {
	out, _, err := runArgs(t, 5*time.Second, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"dev ", "edge ", "version ", "SWITCHBOARD_"} {
		if !strings.Contains(out, w) {
			t.Errorf("--help does not mention %q:\n%s", w, out)
		}
	}
	for _, cmd := range []string{"dev", "edge"} {
		out, _, err := runArgs(t, 5*time.Second, "help", cmd)
		if err != nil {
			t.Fatal(err)
		}
		flags := devFlags()
		if cmd == "edge" {
			flags = edgeFlags()
		}
		for _, f := range flags {
			if name := f.Names()[0]; !strings.Contains(out, "--"+name+" ") {
				t.Errorf("help %s does not document --%s", cmd, name)
			}
		}
	}
	// The dev help documents the demo handlers.
	out, _, _ = runArgs(t, 5*time.Second, "dev", "--help")
	if !regexp.MustCompile(`echo\(.*\)[\s\S]*join\(room\)[\s\S]*broadcast\(room, payload\)`).MatchString(out) {
		t.Errorf("dev --help does not document the demo handlers:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runArgs(t, 5*time.Second, "version")
	if err != nil || !strings.HasPrefix(out, "switchboard ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %q, %v", out, err)
	}
	out, _, err = runArgs(t, 5*time.Second, "--version")
	if err != nil || !strings.Contains(out, buildVersion()) {
		t.Errorf("--version: %q, %v", out, err)
	}
}
