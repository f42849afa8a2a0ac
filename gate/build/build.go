// Package build holds what the gate knows about its own build: the version
// and commit stamped in with -ldflags -X at link time, and the Go version.
//
// The Makefile sets them:
//
//	go build -ldflags "-X github.com/quannex/gameday/gate/build.Version=v1.2.3 \
//	    -X github.com/quannex/gameday/gate/build.Commit=abc1234" ./cmd/gate
//
// An unstamped binary (go run, go test) reports "dev" and "unknown".
package build

import "runtime"

// Set at link time; see the package comment.
var (
	Version = "dev"
	Commit  = "unknown"
)

// Info is the build identity shown in selftest, in quannex_build_info and by
// `gate version`.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goversion"`
}

// Current returns the identity of the running binary.
func Current() Info {
	return Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
}
