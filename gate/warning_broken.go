//go:build gameday_broken_warning

package gate

// staleWarning is empty in this deliberately broken build (see warning.go).
const staleWarning = ""
