package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// generatorLatency adds uniform latency between min and max to every live
// generation through the gate's fault API, seeded for replay, with a TTL
// slightly longer than the fault so the gate switches it off by itself if
// the harness dies.
type generatorLatency struct {
	min, max time.Duration
}

func newGeneratorLatency(params map[string]string) (Fault, error) {
	if err := checkParams("generator-latency", params, "min", "max"); err != nil {
		return nil, err
	}
	lo, err := durationParam("generator-latency", params, "min", 300*time.Millisecond)
	if err != nil {
		return nil, err
	}
	hi, err := durationParam("generator-latency", params, "max", 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	if hi < lo {
		return nil, &ParamError{Fault: "generator-latency", Param: "max", Problem: "must not be less than min"}
	}
	return &generatorLatency{min: lo, max: hi}, nil
}

func (f *generatorLatency) Name() string { return "generator-latency" }

// ViaAdminAPI: the gate injects and reverts it itself, so it can hit a gate
// the harness did not start.
func (f *generatorLatency) ViaAdminAPI() {}

// MinAdded is the least latency the fault adds to a live generation; the
// run proves the fault by live responses at least this much slower than
// the baseline median.
func (f *generatorLatency) MinAdded() time.Duration { return f.min }

// ttlMargin keeps the gate-side TTL just past the scheduled revert.
const ttlMargin = 10 * time.Second

func (f *generatorLatency) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	body, _ := json.Marshal(map[string]any{"min": f.min.String(), "max": f.max.String(), "seed": env.Seed, "ttl": (env.Duration + ttlMargin).String()})
	if err := env.Gate.Admin(ctx, http.MethodPost, "/admin/faults/latency", body, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("generator-latency: %w", err)
	}
	return func(ctx context.Context) error {
		if err := env.Gate.Admin(ctx, http.MethodDelete, "/admin/faults/latency", nil, http.StatusOK); err != nil {
			return fmt.Errorf("generator-latency revert: %w", err)
		}
		return nil
	}, nil
}
