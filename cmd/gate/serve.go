package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/gate/snapshot"
)

const serveUsage = `Usage: gate serve [flags]

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

Flags:
`

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o          gate.Options
		logFile    string
		signingKey string
		logLevel   slog.Level
	)
	fs.StringVar(&o.Listen, "listen", gate.DefaultListen, "address to listen on")
	fs.StringVar(&o.CacheDir, "cache-dir", gate.DefaultCacheDir, "directory for recorded snapshots")
	fs.StringVar(&o.AuditLog, "audit-log", gate.DefaultAuditLog, "audit log file (outside the cache directory)")
	auditMax := byteSize(audit.DefaultMaxBytes)
	fs.Var(&auditMax, "audit-max-bytes", "`size` past which the audit log file is renamed to the next numbered segment (audit-000001.jsonl, …) and a new one started; KiB, MiB, GiB")
	fs.StringVar(&o.AuditHeadFile, "audit-head-file", "", "file anchoring the audit head outside the log, replaced after every durable batch and checked at start and by gate audit verify: a cut tail is found without --expect-head; best on a second volume the log's writers cannot write (default: the audit log's path + .head)")
	fs.StringVar(&logFile, "log-file", "", "write JSON logs to this file instead of standard error")
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error (debug logs every request)")
	fs.BoolVar(&o.FaultInjection, "enable-fault-injection", false, "enable the /admin/faults API (needs GATE_ADMIN_TOKEN)")
	fs.BoolVar(&o.InsecureNoAuth, "insecure-no-auth", false, "serve /metrics without tokens: local development only")
	fs.IntVar(&o.BreakerThreshold, "breaker-threshold", gate.DefaultBreakerThreshold, "consecutive live failures that open the circuit breaker")
	fs.DurationVar(&o.BreakerCooldown, "breaker-cooldown", gate.DefaultBreakerCooldown, "time the breaker stays open before a trial")
	fs.DurationVar(&o.GenerationTimeout, "generation-timeout", gate.DefaultGenerationTimeout, "live generation slower than this falls back")
	fs.DurationVar(&o.SnapshotMaxAge, "snapshot-max-age", gate.DefaultSnapshotMaxAge, "older snapshots are not served (503 instead)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", gate.DefaultShutdownTimeout, "time to drain requests on SIGTERM")
	fs.IntVar(&o.MaxConnections, "max-connections", gate.DefaultMaxConnections, "connections open at once, idle keep-alive ones included; more wait until one closes (0: unlimited)")
	fs.IntVar(&o.MaxConnectionsPerAddress, "max-connections-per-address", 0, fmt.Sprintf("connections one source address (an IPv6 /64) may hold open at once; past it new ones from that address are closed at once, so one client cannot take every connection (0: %d, or a quarter of --max-connections when smaller; must be below --max-connections)", gate.DefaultMaxConnectionsPerAddress))
	fs.StringVar(&o.ProbeListen, "probe-listen", "", "second address serving only /healthz and /readyz, plain HTTP, with its own connection limits: point kubelet probes at it (empty: none)")
	fs.DurationVar(&o.TokenFilePoll, "token-file-poll", gate.DefaultTokenFilePoll, "how often token files are checked for changes (0: only on SIGHUP)")
	fs.StringVar(&signingKey, "signing-key", "", "ed25519 private key file (PKCS#8 PEM, from gate keygen): sign every /metrics and /metrics/self response (RFC 9421)")
	fs.StringVar(&o.SigningKeyID, "signing-key-id", "", "keyid parameter of the signatures (default: first 16 hex digits of the public key's SHA-256)")
	fs.DurationVar(&o.SignatureValidity, "signature-validity", gate.DefaultSignatureValidity, "how long a signature holds: its expires parameter is created plus this, and verifiers refuse it afterwards")
	fs.StringVar(&o.WebConfigFile, "web.config.file", "", "exporter-toolkit web config: TLS and client certificates; its files are looked at (a stat) per new connection and every --web-config-poll, parsed again only when one changed, the last good set kept while one does not load (empty: plain HTTP)")
	fs.DurationVar(&o.WebConfigPoll, "web-config-poll", gate.DefaultWebConfigPoll, "how often the web config's files are looked at besides per new connection, so that quannex_web_config_last_reload_successful shows a broken set while clients keep their connections (0: per new connection only)")
	pairs := []envFlag{
		{"listen", "GATE_LISTEN"}, {"cache-dir", "GATE_CACHE_DIR"}, {"audit-log", "GATE_AUDIT_LOG"},
		{"audit-max-bytes", "GATE_AUDIT_MAX_BYTES"}, {"audit-head-file", "GATE_AUDIT_HEAD_FILE"},
		{"log-file", "GATE_LOG_FILE"}, {"log-level", "GATE_LOG_LEVEL"},
		{"enable-fault-injection", "GATE_FAULT_INJECTION"},
		{"breaker-threshold", "GATE_BREAKER_THRESHOLD"}, {"breaker-cooldown", "GATE_BREAKER_COOLDOWN"},
		{"generation-timeout", "GATE_GENERATION_TIMEOUT"}, {"snapshot-max-age", "GATE_SNAPSHOT_MAX_AGE"},
		{"max-connections", "GATE_MAX_CONNECTIONS"}, {"max-connections-per-address", "GATE_MAX_CONNECTIONS_PER_ADDRESS"},
		{"probe-listen", "GATE_PROBE_LISTEN"},
		{"shutdown-timeout", "GATE_SHUTDOWN_TIMEOUT"}, {"token-file-poll", "GATE_TOKEN_FILE_POLL"},
		{"web.config.file", "GATE_WEB_CONFIG_FILE"}, {"web-config-poll", "GATE_WEB_CONFIG_POLL"},
		{"signing-key", "GATE_SIGNING_KEY"}, {"signing-key-id", "GATE_SIGNING_KEY_ID"},
		{"signature-validity", "GATE_SIGNATURE_VALIDITY"},
	}
	envUsage(fs, pairs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("gate serve: unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnv(fs, pairs); err != nil {
		return err
	}
	o.AuditMaxBytes = int64(auditMax)
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"--breaker-threshold", o.BreakerThreshold <= 0},
		{"--breaker-cooldown", o.BreakerCooldown <= 0},
		{"--generation-timeout", o.GenerationTimeout <= 0},
		{"--snapshot-max-age", o.SnapshotMaxAge <= 0},
		{"--shutdown-timeout", o.ShutdownTimeout <= 0},
		{"--signature-validity (GATE_SIGNATURE_VALIDITY)", o.SignatureValidity <= 0},
	} {
		if c.bad {
			return usagef("%s: must be positive", c.name)
		}
	}
	switch {
	case o.MaxConnections < 0:
		return usagef("--max-connections (GATE_MAX_CONNECTIONS): must be 0 (unlimited) or positive")
	case o.MaxConnectionsPerAddress < 0:
		return usagef("--max-connections-per-address (GATE_MAX_CONNECTIONS_PER_ADDRESS): must be 0 (the default) or positive")
	case o.MaxConnections > 0 && o.MaxConnectionsPerAddress >= o.MaxConnections:
		return usagef("--max-connections-per-address (GATE_MAX_CONNECTIONS_PER_ADDRESS): %d must be below --max-connections (GATE_MAX_CONNECTIONS) %d, or one address can take every connection",
			o.MaxConnectionsPerAddress, o.MaxConnections)
	case o.MaxConnections == 0:
		o.MaxConnections = gate.NoConnectionLimit
	}
	switch {
	case o.WebConfigPoll < 0:
		return usagef("--web-config-poll (GATE_WEB_CONFIG_POLL): must be 0 (per new connection only) or positive")
	case o.WebConfigPoll == 0:
		o.WebConfigPoll = -1 // gate.Options: negative is "no polling"
	}
	if err := gate.CheckWebConfig(o.WebConfigFile); err != nil {
		return usagef("--web.config.file (GATE_WEB_CONFIG_FILE): %v", err)
	}
	if err := signingFromFlags(&o, signingKey); err != nil {
		return err
	}
	if err := secretsFromEnv(&o); err != nil {
		return err
	}

	logOut := stderr
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return usagef("--log-file (GATE_LOG_FILE): %v", err)
		}
		defer f.Close()
		logOut = f
	}
	o.Logger = slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: logLevel}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := gate.New(o)
	if err != nil {
		return tokenFileError(err, o)
	}
	defer reloadOnHUP(ctx, srv)()
	if o.InsecureNoAuth {
		fmt.Fprintf(stderr, "gate: WARNING: --insecure-no-auth: /metrics on %s needs no token. Never use this outside local development.\n", srv.Addr())
	}
	return srv.Serve(ctx)
}

// secretsFromEnv reads the variables that hold secrets or quotas. Errors
// name the variable and never quote its value.
func secretsFromEnv(o *gate.Options) error {
	if err := tokenFilesFromEnv(o); err != nil {
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
