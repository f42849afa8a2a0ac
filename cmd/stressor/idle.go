//go:build !gameday_broken_stressor

package main

// burnsNothing is false in every normal build. A stressor built with the
// gameday_broken_stressor tag (idle_broken.go) waits out its duration
// without burning, allocating or filling anything; the GameDay mutant
// matrix builds it to show that fault_achieved:cpu-spike and
// fault_achieved:disk-full catch a fault that did not happen.
const burnsNothing = false
