package main

import (
	"fmt"
	"os/exec"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
)

// fleetBins finds the Prometheus and Alertmanager a fleet scenario runs,
// before anything starts: a missing or unusable binary is a usage error
// naming the flag (or PATH) and the package that provides it. It also
// refuses fleets on a target kind that cannot run one.
func (f *runFlags) fleetBins(specs []*scenario.Spec, kind string) error {
	var fleet string
	for _, s := range specs {
		if s.Target.Kind == scenario.KindFleet {
			fleet = s.Name
			break
		}
	}
	if fleet == "" {
		return nil
	}
	if kind != harness.TargetContainer {
		return fmt.Errorf("scenario %s: target.kind: a fleet runs its replicas as containers on a private Docker network; the %s target cannot (%w)", fleet, kind, harness.ErrNoDocker)
	}
	for _, b := range []struct {
		flag, def string
		missing   error
		path      *string
	}{
		{"--prometheus-bin", "prometheus", promserver.ErrNoBinary, &f.promBin},
		{"--alertmanager-bin", "", amserver.ErrNoBinary, &f.amBin},
	} {
		switch {
		case *b.path != "":
			p, err := exec.LookPath(*b.path)
			if err != nil {
				return usagef("%s: %s is not an executable (scenario %s is a fleet)", b.flag, *b.path, fleet)
			}
			*b.path = p
		case b.def != "":
			p, err := exec.LookPath(b.def)
			if err != nil {
				return usagef("scenario %s is a fleet: %v; or give %s", fleet, b.missing, b.flag)
			}
			*b.path = p
		default:
			p, err := amserver.Binary()
			if err != nil {
				return usagef("scenario %s is a fleet: %v", fleet, err)
			}
			*b.path = p
		}
	}
	return nil
}
