package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

func list(stdout io.Writer) error {
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		return err
	}
	for _, name := range scenario.Names(b) {
		s := b[name]
		var faults []string
		for _, f := range s.Faults {
			faults = append(faults, fmt.Sprintf("%s for %s", f.Name, f.Duration.D()))
		}
		fmt.Fprintf(stdout, "%-10s %s (at most %s)\n           %s\n", name, strings.Join(faults, ", "), s.MaxSchedule().Round(1e9), strings.TrimSpace(s.Description))
	}
	fmt.Fprintf(stdout, "\nfaults: %s\n", strings.Join(fault.Names(), ", "))
	return nil
}
