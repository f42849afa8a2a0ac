// Package seam holds the test seams of package harness: the hooks a test
// or the mutant matrix sets to watch a run from outside or to break one
// piece of it on purpose. Nothing in production sets them, and they are
// not in package harness's API: a caller attaches them to the context it
// runs with (With), and the harness reads them from there (From).
//
// What lives here is only the shape of each hook; what a hook does to a
// run is documented where the harness calls it.
package seam

import (
	"context"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/fault"
)

// Hooks are the seams of one run; a nil field leaves that part as shipped.
type Hooks struct {
	// Faults replaces the fault registry (fault.Registry): a broken fault
	// that wraps a real one, for the mutant matrix.
	Faults map[string]fault.Factory
	// Observe is called once the harness starts scraping a gate it
	// started, so that an observer (a real Prometheus in the differential
	// test) scrapes the same gate; the harness calls the returned stop
	// when it stops scraping, and the observer must be gone when stop
	// returns. Its ctx is not cancelled before stop is called.
	Observe func(ctx context.Context, g Observed) (stop func(), err error)
	// SkipCoverageCheck runs a scenario whose scrape interval cannot
	// cover its phases, which the harness refuses before the run: the run
	// that shows thin evidence fails the alert checks by itself.
	SkipCoverageCheck bool
	// BrakeNeverHolds breaks the brake: every stop condition is evaluated
	// as shipped but never counts as holding, so no breach ever comes (an
	// operator's stop still does).
	BrakeNeverHolds bool
	// SkipRevertOnStop breaks the brake's revert: a breach stops the
	// schedule but reverts nothing, leaving the faults to the end of the
	// run's lifecycle.
	SkipRevertOnStop bool
	// ChaosProof replaces a kube target's injection proof
	// (chaosmesh.ProveInjected): a broken one that trusts what it should
	// not.
	ChaosProof func(chaosmesh.Status, chaosmesh.Selection) ([]chaosmesh.Injected, error)
}

// Observed is what an observer gets: enough to scrape the gate under test
// as production Prometheus would.
type Observed struct {
	URL string // the gate's base URL
	// ScrapeCredentials maps each job of the production scrape config to
	// the path of a 0600 file holding that job's bearer token. The files
	// are removed after the observer's stop returns; never log their
	// contents.
	ScrapeCredentials map[string]string
	// TLS names the files to scrape a gate serving TLS with (URL is then
	// https://); nil: plain HTTP.
	TLS *TLSFiles
}

// TLSFiles names the PEM files a scraper needs for a gate serving TLS, the
// fields of a Prometheus tls_config: the CA that signed the gate's
// certificate, and the client certificate and key the gate requires. They
// are the run's throwaway material and live as long as the target; never
// log the key's contents.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

type key struct{}

// With returns ctx carrying h for the harness run started with it.
func With(ctx context.Context, h *Hooks) context.Context { return context.WithValue(ctx, key{}, h) }

// From returns the hooks ctx carries; never nil.
func From(ctx context.Context) *Hooks {
	if h, ok := ctx.Value(key{}).(*Hooks); ok && h != nil {
		return h
	}
	return &Hooks{}
}
