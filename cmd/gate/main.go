// Command gate runs the Metrics Integrity Gate and its offline tools.
//
//	gate serve            run the gate (see gate serve --help)
//	gate version          print the build (also gate --version)
//	gate audit verify     check the audit log's hash chain
//	gate audit stats      count audit entries by event
//	gate verify           check a /metrics payload's digests (LIVESHA,
//	                      Repr-Digest) and, with --pubkey, its signature
//	gate keygen           write an ed25519 key pair for gate serve --signing-key
//	gate completion SHELL the bash, zsh or fish completion script
//
// The command line is package cli's (kingpin, as Prometheus's tools):
// flags anywhere, "--" to end them, help on standard output.
//
// Exit codes: 0 success; 1 a check found a problem (verify, audit verify);
// 2 bad usage or configuration, before anything happens (the message names
// the flag or variable); 3 a runtime failure (cannot read, cannot listen).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/quannex/gameday/cmd/internal/cli"
)

const help = `The QuanNex Metrics Integrity Gate.

Example: METRICS_TOKENS=scraper:$TOKEN gate serve

Exit codes: 0 ok, 1 a check failed, 2 usage or configuration error (before
anything starts; the message names the flag or variable), 3 runtime error.`

// Exit codes.
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
	exitRuntime = 3
)

// usageError is a bad flag, argument or variable: exit 2.
type usageError = cli.UsageError

func usagef(format string, a ...any) error { return cli.Usagef(format, a...) }

// problemError is a verification that ran and failed: exit 1.
type problemError struct{ msg string }

func (e problemError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// newApp declares every command and returns the command line and what
// runs each command by its full name.
func newApp(stdout, stderr io.Writer) (*cli.App, map[string]func() error) {
	app := cli.New("gate", help, versionText(), stdout, stderr)
	cmds := map[string]func() error{
		"serve":   addServe(app, stderr),
		"version": addVersion(app, stdout),
		"verify":  addVerify(app, stdout, stderr),
		"keygen":  addKeygen(app, stdout),
	}
	cmds["audit verify"], cmds["audit stats"] = addAudit(app, stdout)
	app.AddCompletion()
	return app, cmds
}

func run(args []string, stdout, stderr io.Writer) int {
	app, cmds := newApp(stdout, stderr)
	cmd, err := app.Parse(args)
	if err == nil {
		if f, ok := cmds[cmd]; ok {
			err = f()
		}
	}
	return report(err, stderr)
}

func report(err error, stderr io.Writer) int {
	var (
		ue usageError
		pe problemError
	)
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "gate:", err)
		return exitUsage
	case errors.As(err, &pe):
		fmt.Fprintln(stderr, "gate:", err)
		return exitProblem
	default:
		fmt.Fprintln(stderr, "gate:", err)
		return exitRuntime
	}
}

// versionText is what --version and gate version print, the fields of
// Prometheus's version.Print on one line.
func versionText() string { return cli.VersionLine("gate") }

// addVersion declares gate version.
func addVersion(app *cli.App, stdout io.Writer) func() error {
	app.Cmd(nil, "version", "Print the version, commit and Go version.\n\nExample: gate version")
	return func() error {
		_, err := fmt.Fprintln(stdout, versionText())
		return err
	}
}
