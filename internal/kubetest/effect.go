package kubetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	chaos "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/quannex/gameday/harness/fault"
)

// EffectOn is the stand-in's effect mode on a gate (the container or the
// process standing for the pod): an IOChaos is the harness's own
// cache-readonly fault on it, a StressChaos its cpu-spike with the
// object's workers, each until the object's recovery or its duration.
func EffectOn(gate fault.Host) Effect {
	var mu sync.Mutex
	reverts := map[string]func(context.Context) error{}
	return func(ctx context.Context, obj chaos.InnerObject, id string, apply bool) error {
		key := obj.(metav1.Object).GetName() + "/" + id
		mu.Lock()
		defer mu.Unlock()
		if !apply {
			revert := reverts[key]
			if revert == nil {
				return nil
			}
			if err := revert(ctx); err != nil {
				return err // kept: the next reconcile retries it
			}
			delete(reverts, key)
			return nil
		}
		var f fault.Fault
		var err error
		var dur *string
		switch o := obj.(type) {
		case *chaos.IOChaos:
			f, err = fault.New("cache-readonly", nil)
			dur = o.Spec.Duration
		case *chaos.StressChaos:
			f, err = fault.New("cpu-spike", map[string]string{"cores": fmt.Sprint(o.Spec.Stressors.CPUStressor.Workers)})
			dur = o.Spec.Duration
		default:
			return fmt.Errorf("stand-in effect: %T", obj)
		}
		if err != nil {
			return err
		}
		d := 10 * time.Minute
		if dur != nil {
			if d, err = time.ParseDuration(*dur); err != nil {
				return err
			}
		}
		revert, err := f.Inject(ctx, gate, fault.Env{Duration: d})
		if err != nil {
			return err
		}
		reverts[key] = revert
		return nil
	}
}
