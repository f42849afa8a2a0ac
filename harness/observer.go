package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quannex/gameday/harness/certs"
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
	// TLS names the files to scrape a gate serving TLS with (URL is then
	// https://); nil: plain HTTP.
	TLS *ScrapeTLS
}

// ScrapeTLS names the PEM files a scraper needs for a gate serving TLS,
// the fields of a Prometheus tls_config: the CA that signed the gate's
// certificate, and the client certificate and key the gate requires. They
// are the run's throwaway material and live as long as the target; never
// log the key's contents.
type ScrapeTLS struct {
	CAFile, CertFile, KeyFile string
}

// tlsFiler is a target serving TLS from files the harness wrote
// (target.Process, target.Container).
type tlsFiler interface {
	TLSFiles() (certs.Files, bool)
}

// scrapeTLS is the TLS an observer scrapes tgt with; nil: plain HTTP, or a
// target whose TLS material is not the harness's.
func scrapeTLS(tgt any) *ScrapeTLS {
	f, ok := tgt.(tlsFiler)
	if !ok {
		return nil
	}
	files, ok := f.TLSFiles()
	if !ok {
		return nil
	}
	return &ScrapeTLS{CAFile: files.Path(certs.CAFile), CertFile: files.Path(certs.ClientCertFile), KeyFile: files.Path(certs.ClientKeyFile)}
}

// startObserver writes a token file per job and calls ready; the returned
// stop stops the observer and removes the files. tls is the target's
// (scrapeTLS).
func startObserver(ctx context.Context, ready func(context.Context, ReadyTarget) (func(), error), c *client, jobs []scrapeJob, tls *ScrapeTLS) (func(), error) {
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
	stop, err := ready(ctx, ReadyTarget{URL: c.base, ScrapeCredentials: creds, TLS: tls})
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
