package chaosmesh

import (
	"fmt"
	"slices"

	"github.com/quannex/gameday/harness/fault"
)

// Target is where a fault's chaos lands: the gate pods and, in their gate
// container, the cache volume's mount path.
type Target struct {
	Namespace string
	Labels    map[string]string // the gate pods' labels
	Container string            // the gate's container
	CachePath string            // the cache volume's mount path
}

// ErrnoEACCES is the errno the cache-readonly IOChaos returns: what the
// harness's own cache-readonly fault makes the gate's writes meet (a
// 0555 directory and 0444 files).
const ErrnoEACCES = 13

// ReadOnlyMethods are the write-side file operations the cache-readonly
// IOChaos fails; reads are left alone, so the gate can still serve its
// verified snapshot.
var ReadOnlyMethods = []string{"create", "mknod", "mkdir", "write", "setattr", "rename", "unlink", "link", "symlink", "fsync"}

// Faults are the scenario faults the harness injects in a cluster as
// Chaos Mesh objects (ForFault); the admin-API faults reach the gates
// through their Service instead.
var Faults = []string{"cache-readonly", "cpu-spike"}

// ForFault maps a scenario fault to the chaos object that injects it into
// every gate pod of t: cpu-spike to a StressChaos with one stress-ng
// worker per requested core at full load in the gate container,
// cache-readonly to an IOChaos failing the write-side operations on the
// cache volume with EACCES. The spec's duration is set by Create.
func ForFault(name string, params map[string]string, t Target) (Kind, map[string]any, error) {
	f, err := fault.New(name, params)
	if err != nil {
		return Kind{}, nil, err
	}
	spec := SelectorSpec(t)
	switch name {
	case "cpu-spike":
		cores := int64(f.(fault.Sampler).Requested())
		spec["stressors"] = map[string]any{"cpu": map[string]any{"workers": cores, "load": int64(100)}}
		return StressChaos, spec, nil
	case "cache-readonly":
		if t.CachePath == "" {
			return Kind{}, nil, fmt.Errorf("%s: the gate's cache volume mount path is not set", name)
		}
		methods := make([]any, len(ReadOnlyMethods))
		for i, m := range ReadOnlyMethods {
			methods[i] = m
		}
		spec["action"], spec["errno"], spec["percent"] = "fault", int64(ErrnoEACCES), int64(100)
		spec["volumePath"], spec["path"], spec["methods"] = t.CachePath, t.CachePath+"/**/*", methods
		return IOChaos, spec, nil
	}
	return Kind{}, nil, fmt.Errorf("%s is not injected through Chaos Mesh (the harness does: %v)", name, Faults)
}

// IsChaos reports whether the named fault is injected through Chaos Mesh.
func IsChaos(name string) bool { return slices.Contains(Faults, name) }

// SelectorSpec is the selector part of a chaos spec for every gate pod
// of t (mode all), in t's gate container when it names one.
func SelectorSpec(t Target) map[string]any {
	lbl := make(map[string]any, len(t.Labels))
	for k, v := range t.Labels {
		lbl[k] = v
	}
	spec := map[string]any{
		"selector": map[string]any{"namespaces": []any{t.Namespace}, "labelSelectors": lbl},
		"mode":     "all",
	}
	if t.Container != "" {
		spec["containerNames"] = []any{t.Container}
	}
	return spec
}
