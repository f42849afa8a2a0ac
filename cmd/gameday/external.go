package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
)

// maxTokenFile bounds a token file: a bearer token is a line, not a
// document.
const maxTokenFile = 4 << 10

// external checks the flags of a run against a gate the harness did not
// start (--target url=URL), before anything runs: the URL, every
// scenario's faults (only the gate's admin API's, harness.CheckExternal),
// then the token files. It returns nil for the targets the harness starts,
// which take no token files. Errors name the flag or the scenario field,
// never a token.
func (f *runFlags) external(specs []*scenario.Spec) (*harness.External, error) {
	raw, isURL := strings.CutPrefix(f.target, harness.TargetURL+"=")
	_, isKube := strings.CutPrefix(f.target, harness.TargetKube+"=")
	if !isKube {
		if err := f.noKubeFlags(); err != nil {
			return nil, err
		}
	}
	if !isURL && !isKube {
		for _, fl := range []struct{ name, v string }{{"--token-file", f.tokenFile}, {"--admin-token-file", f.adminTokenFile},
			{"--prometheus", f.prometheus}, {"--prometheus-instance", f.instance}, {"--alertmanager", f.alertmgr}} {
			if fl.v != "" {
				return nil, usagef("%s: only with --target url= or kube= (a gate the harness starts gets its own tokens and in-process alert evaluation)", fl.name)
			}
		}
		return nil, nil
	}
	check, urlFlag, with := harness.CheckExternal, "--target: url=", "--target url="
	if isKube {
		check, urlFlag, with, raw = harness.CheckKube, "--service", "--target kube=", f.service
		switch {
		case f.service == "":
			return nil, usagef("--service: required with --target kube= (the gates' Service URL: the load, the harness's scrapes and the admin API go there)")
		case f.prometheus == "":
			return nil, usagef("--prometheus: required with --target kube= (the cluster's Prometheus that scrapes the gates: the verdict's alerts come from it)")
		}
	}
	u, err := target.ParseRemoteURL(raw)
	if err != nil {
		return nil, usagef("%s: %v", urlFlag, err)
	}
	admin := -1
	var adminSpec string
	for _, s := range specs {
		if err := check(s); err != nil {
			var fe *scenario.FieldError
			if errors.As(err, &fe) {
				return nil, usagef("scenario %s: %s: %s", s.Name, fe.Field, fe.Problem)
			}
			return nil, usagef("scenario %s: %v", s.Name, err)
		}
		if i := harness.AdminFault(s); i >= 0 && admin < 0 {
			admin, adminSpec = i, fmt.Sprintf("scenario %s: faults[%d] (%s)", s.Name, i, s.Faults[i].Name)
		}
	}
	ext := &harness.External{URL: u, Instance: f.instance}
	for _, fl := range []struct {
		name, v string
		dst     *string
	}{{"--prometheus", f.prometheus, &ext.Prometheus}, {"--alertmanager", f.alertmgr, &ext.Alertmanager}} {
		if fl.v == "" {
			continue
		}
		if *fl.dst, err = target.ParseRemoteURL(fl.v); err != nil {
			return nil, usagef("%s: %v", fl.name, err)
		}
	}
	switch {
	case f.instance != "" && f.prometheus == "":
		return nil, usagef("--prometheus-instance: only with --prometheus")
	case f.alertmgr != "" && f.prometheus == "":
		return nil, usagef("--alertmanager: only with --prometheus (the alerts are read from the Prometheus that sends to it)")
	}
	if f.tokenFile == "" {
		return nil, usagef("--token-file: required with %s (the bearer token the load and the scrapes use)", with)
	}
	if ext.Token, err = readToken("--token-file", f.tokenFile); err != nil {
		return nil, err
	}
	switch {
	case f.adminTokenFile != "":
		if ext.AdminToken, err = readToken("--admin-token-file", f.adminTokenFile); err != nil {
			return nil, err
		}
	case admin >= 0:
		return nil, usagef("--admin-token-file: required: %s is injected through the gate's admin API", adminSpec)
	}
	return ext, nil
}

// readToken reads one bearer token from a file, surrounding whitespace
// trimmed. No message repeats what the file holds.
func readToken(flagName, path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", usagef("%s: %v", flagName, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxTokenFile+1))
	switch {
	case err != nil:
		return "", usagef("%s: read %s: %v", flagName, path, err)
	case len(b) > maxTokenFile:
		return "", usagef("%s: %s is larger than %d bytes: not a token file", flagName, path, maxTokenFile)
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case tok == "":
		return "", usagef("%s: %s is empty", flagName, path)
	case strings.ContainsAny(tok, " \t\r\n"):
		return "", usagef("%s: %s holds more than one word; want the token alone", flagName, path)
	}
	return tok, nil
}

// leaseFree checks, before the run, that no other GameDay holds the
// gate's lease (with the admin token; the run takes the lease itself as
// it starts): a held gate is a run that cannot happen now (exit 3).
func leaseFree(ctx context.Context, ext *harness.External) error {
	if ext.AdminToken == "" {
		return nil
	}
	var held *gateapi.LeaseHeldError
	switch err := gateapi.New(ext.URL, ext.Token, ext.AdminToken).Lease(ctx); {
	case errors.As(err, &held):
		return fmt.Errorf("--target: the gate at %s is %v: one GameDay per target at a time", ext.URL, err)
	case err != nil && !errors.Is(err, gateapi.ErrNoLease):
		return fmt.Errorf("--admin-token-file: the gate at %s: %w", ext.URL, err)
	}
	return nil
}

// reachGate checks, before the run, that the gate answers /readyz and
// takes the metrics token: an unreachable or unready gate is a run that
// could not happen (exit 3), named by --target.
func reachGate(ctx context.Context, ext *harness.External) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c := gateapi.New(ext.URL, ext.Token, "")
	r, err := c.Do(ctx, http.MethodGet, "/readyz", gateapi.NoToken, "", nil)
	if err != nil {
		return fmt.Errorf("--target: the gate at %s is unreachable: %w", ext.URL, err)
	}
	if err := gateapi.Expect(http.MethodGet, "/readyz", r, http.StatusOK); err != nil {
		return fmt.Errorf("--target: the gate at %s is not ready: %w", ext.URL, err)
	}
	if _, _, err := c.Payload(ctx, "/metrics/self"); err != nil {
		var se *gateapi.StatusError
		if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden) {
			return usagef("--token-file: the gate at %s refused the token (%s)", ext.URL, se.Status)
		}
		return fmt.Errorf("--target: the gate at %s: %w", ext.URL, err)
	}
	return nil
}
