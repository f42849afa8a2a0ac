// Command gate runs the Metrics Integrity Gate and its offline tools.
//
//	gate serve            run the gate (see gate serve --help)
//	gate version          print the build
//	gate audit verify     check the audit log's hash chain
//	gate audit stats      count audit entries by event
//	gate verify           check a /metrics payload's digests (LIVESHA,
//	                      Repr-Digest) and, with --pubkey, its signature
//	gate keygen           write an ed25519 key pair for gate serve --signing-key
//
// Exit codes: 0 success; 1 a check found a problem (verify); 2 bad usage or
// configuration; 3 a runtime failure (cannot read, cannot listen).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

const usage = `gate — the QuanNex Metrics Integrity Gate

Usage:
  gate serve [flags]                       run the gate
  gate version                             print version, commit and Go version
  gate audit verify [--log FILE] [flags]   verify the audit log's hash chain
  gate audit stats [--log FILE] [flags]    count audit entries by event
  gate verify [--pubkey FILE] [FILE|URL|-] verify a /metrics payload's digests
                                           and, with --pubkey, its signature
  gate keygen --out PREFIX                 write PREFIX.key and PREFIX.pub, an
                                           ed25519 pair for --signing-key

Run "gate COMMAND --help" for the flags of each command.

Exit codes: 0 ok, 1 check failed, 2 usage or configuration error, 3 runtime error.
`

// Exit codes.
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
	exitRuntime = 3
)

// usageError is a bad flag, argument or variable: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// problemError is a verification that ran and failed: exit 1.
type problemError struct{ msg string }

func (e problemError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "version":
		err = version(args[1:], stdout)
	case "audit":
		err = auditCmd(args[1:], stdout, stderr)
	case "verify":
		err = verify(args[1:], stdout, stderr)
	case "keygen":
		err = keygen(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q\n\n%s", args[0], usage)
	}
	return report(err, stderr)
}

func report(err error, stderr io.Writer) int {
	var (
		ue usageError
		pe problemError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
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
