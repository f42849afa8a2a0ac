//go:build !gameday_broken_warning

package gate

// staleWarning is the Warning header of a snapshot response. A gate built
// with the gameday_broken_warning tag sends none: the GameDay harness's own
// tests build that gate to show its warning_on_snapshots check can fail.
const staleWarning = WarningStale
