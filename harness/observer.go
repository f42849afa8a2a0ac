package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ReadyTarget is what an observer gets once the target is up: enough to
// scrape the gate under test as production Prometheus would.
//
// Options.OnTargetReady is called with it as the harness starts scraping;
// its ctx is not cancelled before the returned stop is called, which the
// harness always does when it stops scraping. The observer must be gone
// when stop returns.
type ReadyTarget struct {
	URL string // the gate's base URL
	// ScrapeCredentials maps each job of the production scrape config to
	// the path of a 0600 file holding that job's bearer token. The files
	// are removed after the observer's stop returns; never log their
	// contents.
	ScrapeCredentials map[string]string
}

// startObserver writes a token file per job and calls ready; the returned
// stop stops the observer and removes the files.
func startObserver(ctx context.Context, ready func(context.Context, ReadyTarget) (func(), error), c *client, jobs []scrapeJob) (func(), error) {
	dir, err := os.MkdirTemp("", "gameday-scrape-credentials-*")
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	creds := make(map[string]string, len(jobs))
	for _, j := range jobs {
		p := filepath.Join(dir, j.Name+".token")
		if err := os.WriteFile(p, []byte(c.scraper), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("credentials: %w", err)
		}
		creds[j.Name] = p
	}
	stop, err := ready(ctx, ReadyTarget{URL: c.base, ScrapeCredentials: creds})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return func() {
		if stop != nil {
			stop()
		}
		os.RemoveAll(dir)
	}, nil
}
