package harness

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/reports"
)

// A topology is the shape of the system under test: which gates a run
// reaches, how they come up and go, and which of them each fault hits.
// Implementations: single (one gate the harness starts, single.go), url
// (a deployment it did not start, external.go) and fleet (replicas on a
// private network, fleet.go). The phases never ask which one they run on.
type topology interface {
	// start starts the gates, or reaches the deployment's, and returns
	// them. Every piece it starts is pushed on life the moment it runs, so
	// that the run stops it whatever fails after.
	start(ctx context.Context, life *lifecycle) ([]*instance, error)
	// hits returns the instances fault i of the scenario hits.
	hits(i int) []*instance
	// describe fills the report's sections the topology owns (target,
	// fleet) once start returned.
	describe(rep *reports.Report)
}

// instance is one gate of the system under test as the run reaches it.
type instance struct {
	// name is its instance label in a fleet (replica-3); "" for a run's
	// one gate, whose alerts carry its host:port.
	name  string
	track string // canary or stable, in a fleet
	url   string
	host  host
	// api is the harness's client of the gate (its scrapes, the e2e pass,
	// the admin-API faults, the request counter), with the run's TLS.
	api *gateapi.Client
	// recoveredAt is when its live ratio came back after its faults; only
	// the recovery phase writes it.
	recoveredAt time.Time
}

// host is a started or reached gate as the runner needs it: what faults
// need of its host, its CPU domain for the resource samples and the
// cpu-spike proof, and what the report says of it.
type host interface {
	fault.Host
	Kind() string
	Describe() (image, imageID, id string, cpus float64)
	// CPUCores is the gate's CPU domain's use, in cores, since the last
	// call.
	CPUCores(ctx context.Context) (float64, error)
	// CPUTime is the domain's cumulative CPU time at an instant.
	CPUTime(ctx context.Context) (time.Time, time.Duration, error)
	// TLSConfig is what the harness speaks to an https:// gate with (the
	// run's CA and client certificate); nil: plain HTTP.
	TLSConfig() *tls.Config
}

// newInstance is an instance of h, reached with the run's tokens.
func newInstance(name, track string, h host, url string, tok tokens) *instance {
	return &instance{name: name, track: track, url: url, host: h,
		api: gateapi.New(url, tok.scraper, tok.admin, gateapi.WithTLS(h.TLSConfig()))}
}

// tokens are the run's bearer tokens: fresh ones for gates the harness
// starts, the deployment's for a url target; and the cache key of the
// gates it starts (GATE_CACHE_KEY), so that a gate restarted after a crash
// trusts the snapshots the killed one recorded. They never leave the run.
type tokens struct {
	load, scraper, admin string
	cacheKey             string
}

// freshTokens are new random tokens for the gates a run starts.
func freshTokens() tokens {
	return tokens{load: newToken(), scraper: newToken(), admin: newToken(), cacheKey: newToken()}
}

func newToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// gateEnv is the gate configuration every gate a run starts gets: the
// caller's variables and the run's tokens.
func gateEnv(extra map[string]string, tok tokens) map[string]string {
	env := map[string]string{}
	for k, v := range extra {
		env[k] = v
	}
	for k, v := range map[string]string{
		"METRICS_TOKENS":      "gameday:" + tok.load + ",scraper:" + tok.scraper,
		"METRICS_RATE_LIMITS": "gameday=1000/s,scraper=600/min,admin=600/min",
		"GATE_ADMIN_TOKEN":    tok.admin,
		"GATE_CACHE_KEY":      tok.cacheKey,
	} {
		env[k] = v
	}
	return env
}
