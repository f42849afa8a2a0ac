package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
)

// tokenFilesFromEnv reads METRICS_TOKENS_FILE and GATE_ADMIN_TOKEN_FILE
// into o (the gate reads the files themselves) and the poll interval. Each
// file variable excludes its plain one: two sources of truth for one set
// of tokens would leave it unclear which one a rotation must edit.
func tokenFilesFromEnv(o *gate.Options, named func(string) string) error {
	if o.TokenFilePoll < 0 {
		return usagef("%s: must not be negative", named("token-file-poll"))
	}
	if o.TokenFilePoll == 0 {
		o.TokenFilePoll = -1 // gate.Options: negative is "no polling"
	}
	o.TokensFile = os.Getenv("METRICS_TOKENS_FILE")
	if o.TokensFile != "" && os.Getenv("METRICS_TOKENS") != "" {
		return usagef("METRICS_TOKENS and METRICS_TOKENS_FILE are both set: set one of them")
	}
	o.AdminTokenFile = os.Getenv("GATE_ADMIN_TOKEN_FILE")
	if _, set := os.LookupEnv("GATE_ADMIN_TOKEN"); set && o.AdminTokenFile != "" {
		return usagef("GATE_ADMIN_TOKEN and GATE_ADMIN_TOKEN_FILE are both set: set one of them")
	}
	return nil
}

// tokenFileError turns a token file rejected at start into a usage error
// naming its variable and the file (exit 2); other errors pass through.
func tokenFileError(err error, o gate.Options) error {
	var fe *auth.FileError
	if !errors.As(err, &fe) {
		return err
	}
	name := "METRICS_TOKENS_FILE"
	if fe.Path == o.AdminTokenFile && fe.Path != o.TokensFile {
		name = "GATE_ADMIN_TOKEN_FILE"
	}
	return usagef("%s: %v", name, fe)
}

// reloadOnHUP re-reads the token files on every SIGHUP until ctx ends or
// the returned stop is called; stop waits for the goroutine to exit. The
// gate logs and audits each outcome itself.
func reloadOnHUP(ctx context.Context, srv *gate.Server) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // exits when ctx ends or stop is called
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = srv.ReloadTokens()
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
