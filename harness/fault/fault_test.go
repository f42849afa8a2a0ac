package fault

import (
	"errors"
	"strings"
	"testing"
)

func TestKnownNamesTheParameter(t *testing.T) {
	cases := []struct {
		fault  string
		params map[string]string
		field  string
	}{
		{"cpu-spike", map[string]string{"cores": "lots"}, "params.cores"},
		{"cpu-spike", map[string]string{"cores": "0"}, "params.cores"},
		{"cpu-spike", map[string]string{"colour": "red"}, "params.colour"},
		{"generator-latency", map[string]string{"min": "soon"}, "params.min"},
		{"generator-latency", map[string]string{"min": "500ms", "max": "300ms"}, "params.max"},
		{"cache-readonly", map[string]string{"mode": "0444"}, "params.mode"},
	}
	for _, c := range cases {
		_, err := Known(c.fault, c.params)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Field() != c.field || !strings.HasPrefix(err.Error(), c.fault+": parameter ") {
			t.Errorf("%s %v: %v, want a ParamError for %s", c.fault, c.params, err, c.field)
		}
	}
	if _, err := Known("disk-fill", nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown fault: %v", err)
	}
}

func TestKnownTellsWhichFaultsForceTheFallback(t *testing.T) {
	for name, want := range map[string]bool{"cache-readonly": true, "cpu-spike": false, "generator-latency": false} {
		info, err := Known(name, nil)
		if err != nil || info.ForcesFallback != want {
			t.Errorf("%s: %+v %v, want ForcesFallback %v", name, info, err, want)
		}
	}
}

// TestEveryFaultCanProveItself: a fault without a proof would make its
// fault_achieved check fail on every run; each registered fault has one.
func TestEveryFaultCanProveItself(t *testing.T) {
	for _, name := range Names() {
		f, err := New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, s := f.(Sampler)
		_, p := f.(Prober)
		_, l := f.(Slower)
		if !s && !p && !l {
			t.Errorf("%s implements none of Sampler, Prober, Slower", name)
		}
	}
}
