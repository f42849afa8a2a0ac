package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/gate/snapshot"
)

const serveHelp = `Run the gate.

Example: METRICS_TOKENS=scraper:$(head -c 24 /dev/urandom | base64) gate serve --cache-dir /var/lib/gate/cache

Runs the gate. Every flag can also be set with the variable shown in its
description; a flag on the command line wins over the variable.

Secrets come only from the environment, never from flags (flags show up
in ps and shell history):
  METRICS_TOKENS       required: "token" or "name:token", comma separated
                       (tokens: 16-512 characters of A-Z a-z 0-9 - . _ ~ + / =)
  METRICS_TOKENS_FILE  instead of METRICS_TOKENS: a file, one entry per line,
                       '#' comments; re-read when it changes and on SIGHUP
                       (a bad file keeps the tokens in force)
  METRICS_RATE_LIMIT   per-token quota, default 20/min (N/s, N/min, N/h)
  METRICS_RATE_LIMITS  per-name overrides, e.g. scraper=600/min,gameday=100/s
  GATE_ADMIN_TOKEN     enables POST /e2e/pass, /admin/breaker/reset and,
                       with --enable-fault-injection, /admin/faults
  GATE_ADMIN_TOKEN_FILE  instead of GATE_ADMIN_TOKEN: a file of admin tokens,
                       one per line (a bare one is named admin), re-read
                       like METRICS_TOKENS_FILE
  AUDIT_HMAC_KEY       HMAC key for the audit chain (unset: plain SHA-256)
  GATE_CACHE_KEY       key (16+ characters) that authenticates the snapshot
                       slots and the e2e pass the gate keeps in --cache-dir
                       (HMAC-SHA-256): a file written without it is never
                       served, signed or believed, and is reported. Unset: a
                       random key per process, so only what this process
                       recorded is served and neither survives a restart

Signatures: with --signing-key FILE (GATE_SIGNING_KEY), an ed25519 private
key in PKCS#8 PEM (make one with "gate keygen --out PREFIX"), every
/metrics response (live, snapshot or 503) and /metrics/self carries RFC 9421
Signature-Input and Signature headers (label sig1, alg ed25519) covering
repr-digest, content-type and @status, with created and expires (created +
--signature-validity); check them with "gate verify --pubkey PREFIX.pub URL"
(add --max-age D to refuse an older one). Without a key, responses carry only
digests (Repr-Digest, and the "# LIVESHA:" line in text), which anyone can
recompute: they catch damage, not forgery. A key file open to every user,
unreadable, or not ed25519 stops the gate at start (exit 2).

Threat model — who may write the cache and audit directories, the key and
token files, and what the gate promises against each: docs/THREATS.md.
Without GATE_CACHE_KEY, snapshots and the e2e pass live as long as the
process; failed authentications reach the log and the audit log as at most
two entries a minute (the first, then a summary), all counted in
quannex_auth_failures_total.
`

// serveCmd is gate serve's flags.
type serveCmd struct {
	app        *cli.App
	stderr     io.Writer
	o          gate.Options
	logFile    string
	logFormat  string
	signingKey string
	logLevel   levelValue
	auditMax   byteSize
}

// addServe declares gate serve and returns what runs it.
func addServe(app *cli.App, stderr io.Writer) func() error {
	c := &serveCmd{app: app, stderr: stderr, auditMax: byteSize(audit.DefaultMaxBytes)}
	cmd := app.Cmd(nil, "serve", serveHelp)
	o := &c.o
	flag := func(name, env, help string) *kingpin.FlagClause { return app.Flag(cmd, name, env, help) }
	flag("web.listen-address", "GATE_LISTEN", "address to listen on, host:port").Default(gate.DefaultListen).StringVar(&o.Listen)
	app.Deprecated(cmd, "listen", "web.listen-address")
	flag("cache-dir", "GATE_CACHE_DIR", "directory for recorded snapshots").Default(gate.DefaultCacheDir).StringVar(&o.CacheDir)
	flag("audit-log", "GATE_AUDIT_LOG", "audit log file (outside the cache directory)").Default(gate.DefaultAuditLog).StringVar(&o.AuditLog)
	flag("audit-max-bytes", "GATE_AUDIT_MAX_BYTES", "size past which the audit log file is renamed to the next numbered segment (audit-000001.jsonl, …) and a new one started; KiB, MiB, GiB").
		PlaceHolder("SIZE").SetValue(&c.auditMax)
	flag("audit-head-file", "GATE_AUDIT_HEAD_FILE", "file anchoring the audit head outside the log, replaced after every durable batch and checked at start and by gate audit verify: a cut tail is found without --expect-head; best on a second volume the log's writers cannot write (default: the audit log's path + .head)").StringVar(&o.AuditHeadFile)
	flag("log-file", "GATE_LOG_FILE", "write logs to this file instead of standard error").StringVar(&c.logFile)
	c.logLevel.Level = slog.LevelInfo
	flag("log.level", "GATE_LOG_LEVEL", "log level: debug, info, warn, error (debug logs every request)").PlaceHolder("info").SetValue(&c.logLevel)
	app.Deprecated(cmd, "log-level", "log.level")
	flag("log.format", "GATE_LOG_FORMAT", "log format: json (what the harness and the runbook read) or logfmt").Default("json").EnumVar(&c.logFormat, "json", "logfmt")
	flag("enable-fault-injection", "GATE_FAULT_INJECTION", "enable the /admin/faults API (needs GATE_ADMIN_TOKEN)").BoolVar(&o.FaultInjection)
	flag("insecure-no-auth", "", "serve /metrics without tokens: local development only").BoolVar(&o.InsecureNoAuth)
	flag("breaker-threshold", "GATE_BREAKER_THRESHOLD", "consecutive live failures that open the circuit breaker").Default(fmt.Sprint(gate.DefaultBreakerThreshold)).IntVar(&o.BreakerThreshold)
	flag("breaker-cooldown", "GATE_BREAKER_COOLDOWN", "time the breaker stays open before a trial").Default(gate.DefaultBreakerCooldown.String()).DurationVar(&o.BreakerCooldown)
	flag("generation-timeout", "GATE_GENERATION_TIMEOUT", "live generation slower than this falls back").Default(gate.DefaultGenerationTimeout.String()).DurationVar(&o.GenerationTimeout)
	flag("snapshot-max-age", "GATE_SNAPSHOT_MAX_AGE", "older snapshots are not served (503 instead)").Default(gate.DefaultSnapshotMaxAge.String()).DurationVar(&o.SnapshotMaxAge)
	flag("shutdown-timeout", "GATE_SHUTDOWN_TIMEOUT", "time to drain requests on SIGTERM").Default(gate.DefaultShutdownTimeout.String()).DurationVar(&o.ShutdownTimeout)
	flag("max-connections", "GATE_MAX_CONNECTIONS", "connections open at once, idle keep-alive ones included; more wait until one closes (0: unlimited)").Default(fmt.Sprint(gate.DefaultMaxConnections)).IntVar(&o.MaxConnections)
	flag("max-connections-per-address", "GATE_MAX_CONNECTIONS_PER_ADDRESS", fmt.Sprintf("connections one source address (an IPv6 /64) may hold open at once; past it new ones from that address are closed at once, so one client cannot take every connection (0: %d, or a quarter of --max-connections when smaller; must be below --max-connections)", gate.DefaultMaxConnectionsPerAddress)).Default("0").IntVar(&o.MaxConnectionsPerAddress)
	flag("probe-listen", "GATE_PROBE_LISTEN", "second address serving only /healthz and /readyz, plain HTTP, with its own connection limits: point kubelet probes at it (empty: none)").StringVar(&o.ProbeListen)
	flag("token-file-poll", "GATE_TOKEN_FILE_POLL", "how often token files are checked for changes (0: only on SIGHUP)").Default(gate.DefaultTokenFilePoll.String()).DurationVar(&o.TokenFilePoll)
	flag("signing-key", "GATE_SIGNING_KEY", "ed25519 private key file (PKCS#8 PEM, from gate keygen): sign every /metrics and /metrics/self response (RFC 9421)").StringVar(&c.signingKey)
	flag("signing-key-id", "GATE_SIGNING_KEY_ID", "keyid parameter of the signatures (default: first 16 hex digits of the public key's SHA-256)").StringVar(&o.SigningKeyID)
	flag("signature-validity", "GATE_SIGNATURE_VALIDITY", "how long a signature holds: its expires parameter is created plus this, and verifiers refuse it afterwards").Default(gate.DefaultSignatureValidity.String()).DurationVar(&o.SignatureValidity)
	flag("web.config.file", "GATE_WEB_CONFIG_FILE", "exporter-toolkit web config: TLS and client certificates; its files are looked at (a stat) per new connection and every --web.config.poll-interval, parsed again only when one changed, the last good set kept while one does not load (empty: plain HTTP)").StringVar(&o.WebConfigFile)
	flag("web.config.poll-interval", "GATE_WEB_CONFIG_POLL", "how often the web config's files are looked at besides per new connection, so that quannex_web_config_last_reload_successful shows a broken set while clients keep their connections (0: per new connection only)").Default(gate.DefaultWebConfigPoll.String()).DurationVar(&o.WebConfigPoll)
	app.Deprecated(cmd, "web-config-poll", "web.config.poll-interval")
	return c.run
}

// levelValue is a slog.Level as a flag.
type levelValue struct{ slog.Level }

func (l *levelValue) Set(s string) error { return l.UnmarshalText([]byte(s)) }

// run validates the flags and the variables before anything is created,
// then serves until SIGTERM or SIGINT.
func (c *serveCmd) run() error {
	o, named, stderr := &c.o, c.app.Named, c.stderr
	if err := checkListen(o.Listen); err != nil {
		return usagef("%s: %v", named("web.listen-address"), err)
	}
	if o.ProbeListen != "" {
		if err := checkListen(o.ProbeListen); err != nil {
			return usagef("%s: %v", named("probe-listen"), err)
		}
	}
	o.AuditMaxBytes = int64(c.auditMax)
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"breaker-threshold", o.BreakerThreshold <= 0},
		{"breaker-cooldown", o.BreakerCooldown <= 0},
		{"generation-timeout", o.GenerationTimeout <= 0},
		{"snapshot-max-age", o.SnapshotMaxAge <= 0},
		{"shutdown-timeout", o.ShutdownTimeout <= 0},
		{"signature-validity", o.SignatureValidity <= 0},
	} {
		if f.bad {
			return usagef("%s: must be positive", named(f.name))
		}
	}
	switch {
	case o.MaxConnections < 0:
		return usagef("%s: must be 0 (unlimited) or positive", named("max-connections"))
	case o.MaxConnectionsPerAddress < 0:
		return usagef("%s: must be 0 (the default) or positive", named("max-connections-per-address"))
	case o.MaxConnections > 0 && o.MaxConnectionsPerAddress >= o.MaxConnections:
		return usagef("%s: %d must be below %s %d, or one address can take every connection",
			named("max-connections-per-address"), o.MaxConnectionsPerAddress, named("max-connections"), o.MaxConnections)
	case o.MaxConnections == 0:
		o.MaxConnections = gate.NoConnectionLimit
	}
	switch {
	case o.WebConfigPoll < 0:
		return usagef("%s: must be 0 (per new connection only) or positive", named("web.config.poll-interval"))
	case o.WebConfigPoll == 0:
		o.WebConfigPoll = -1 // gate.Options: negative is "no polling"
	}
	if err := gate.CheckWebConfig(o.WebConfigFile); err != nil {
		return usagef("%s: %v", named("web.config.file"), err)
	}
	if err := signingFromFlags(o, c.signingKey, named); err != nil {
		return err
	}
	if err := secretsFromEnv(o, named); err != nil {
		return err
	}

	logOut := stderr
	if c.logFile != "" {
		f, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return usagef("%s: %v", named("log-file"), err)
		}
		defer f.Close()
		logOut = f
	}
	ho := &slog.HandlerOptions{Level: c.logLevel.Level}
	if c.logFormat == "logfmt" {
		o.Logger = slog.New(slog.NewTextHandler(logOut, ho))
	} else {
		o.Logger = slog.New(slog.NewJSONHandler(logOut, ho))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := gate.New(*o)
	if err != nil {
		return tokenFileError(err, *o)
	}
	defer reloadOnHUP(ctx, srv)()
	if o.InsecureNoAuth {
		fmt.Fprintf(stderr, "gate: WARNING: --insecure-no-auth: /metrics on %s needs no token. Never use this outside local development.\n", srv.Addr())
	}
	return srv.Serve(ctx)
}

// secretsFromEnv reads the variables that hold secrets or quotas. Errors
// name the variable and never quote its value.
func secretsFromEnv(o *gate.Options, named func(string) string) error {
	if err := tokenFilesFromEnv(o, named); err != nil {
		return err
	}
	if v := os.Getenv("METRICS_TOKENS"); v != "" {
		toks, err := auth.ParseList(v)
		if err != nil {
			return usagef("METRICS_TOKENS: %v", err)
		}
		o.Tokens = toks
	}
	if len(o.Tokens) == 0 && o.TokensFile == "" && !o.InsecureNoAuth {
		return usagef("METRICS_TOKENS is not set (nor METRICS_TOKENS_FILE): the gate refuses to start without tokens (use --insecure-no-auth for local development only)")
	}
	if v := os.Getenv("METRICS_RATE_LIMIT"); v != "" {
		p, err := ratelimit.ParsePolicy(v)
		if err != nil {
			return usagef("METRICS_RATE_LIMIT: %v", err)
		}
		o.RateLimit = p
	}
	if v := os.Getenv("METRICS_RATE_LIMITS"); v != "" {
		m, err := ratelimit.ParseOverrides(v)
		if err != nil {
			return usagef("METRICS_RATE_LIMITS: %v", err)
		}
		o.RateLimits = m
	}
	if v, ok := os.LookupEnv("GATE_ADMIN_TOKEN"); ok {
		if strings.Contains(v, ",") {
			return usagef("GATE_ADMIN_TOKEN: must be a single token (no commas)")
		}
		toks, err := auth.ParseList("admin:" + v)
		if err != nil {
			return usagef("GATE_ADMIN_TOKEN: %v", err)
		}
		o.AdminToken = &toks[0]
	}
	if v := os.Getenv("AUDIT_HMAC_KEY"); v != "" {
		if len(v) < 16 {
			return usagef("AUDIT_HMAC_KEY: must be at least 16 characters")
		}
		o.AuditKey = []byte(v)
	}
	if v, ok := os.LookupEnv("GATE_CACHE_KEY"); ok {
		if len(v) < snapshot.MinKeyLen {
			return usagef("GATE_CACHE_KEY: must be at least %d characters", snapshot.MinKeyLen)
		}
		o.CacheKey = []byte(v)
	}
	if err := o.Validate(); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// checkListen refuses an address gate serve could never listen on, before
// any directory is created: host:port with a port from 0 to 65535.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port, such as :3000 or 127.0.0.1:3000", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	return nil
}
