// Package chaosmesh injects a GameDay's faults into a Kubernetes cluster as
// Chaos Mesh objects the harness owns (StressChaos, IOChaos), proves each
// injection from the object's status records, and deletes the objects at
// the fault's end and on every exit path.
//
// It speaks to the API server with client-go's dynamic client and reads the
// objects as unstructured maps, so the gameday binary links neither the
// Chaos Mesh Go types nor Kubernetes' typed API packages. The field names
// it reads are those of github.com/chaos-mesh/chaos-mesh/api/v1alpha1
// (common_types.go): status.conditions, status.experiment.desiredPhase and
// status.experiment.containerRecords; the tests decode what it writes into
// those types and run it against a real kube-apiserver.
//
// Every object is created with spec.duration set, so that Chaos Mesh stops
// the fault by itself if the harness dies, and labelled with Label and the
// run's RunLabel, so that `gameday cleanup --kube` finds what a killed run
// left.
package chaosmesh

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Group and Version are Chaos Mesh's API group and version.
const (
	Group   = "chaos-mesh.org"
	Version = "v1alpha1"
)

// Label marks every object the harness creates in a cluster (the same
// label as its containers); RunLabel holds the run's id.
const (
	Label    = "org.quannex.gameday"
	RunLabel = "gameday.quannex.org/run"
	// FaultLabel holds the scenario's fault index (faults[i]).
	FaultLabel = "gameday.quannex.org/fault"
)

// Finalizer is the finalizer Chaos Mesh's controller puts on each chaos
// object and removes once every record is recovered
// (controllers/common/finalizers in chaos-mesh).
const Finalizer = "chaos-mesh/records"

// Kind is a Chaos Mesh kind the harness creates.
type Kind struct {
	Kind     string // StressChaos
	Resource string // stresschaos, its plural resource name
}

// The kinds the harness creates.
var (
	StressChaos = Kind{Kind: "StressChaos", Resource: "stresschaos"}
	IOChaos     = Kind{Kind: "IOChaos", Resource: "iochaos"}
)

// Kinds lists them, for cleanup and the pre-flight.
var Kinds = []Kind{StressChaos, IOChaos}

// GVR is the kind's group, version and resource.
func (k Kind) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: Group, Version: Version, Resource: k.Resource}
}

func (k Kind) String() string { return k.Resource + "." + Group }

// KindOf returns the kind named kind (StressChaos, IOChaos).
func KindOf(kind string) (Kind, error) {
	for _, k := range Kinds {
		if k.Kind == kind {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("chaosmesh: the harness does not create %s objects", kind)
}

// Client reaches one namespace of a cluster.
type Client struct {
	dyn       dynamic.Interface
	http      *http.Client // the API server's, for discovery
	host      string       // the API server's base URL
	namespace string
}

// New is a client of namespace through cfg.
func New(cfg *rest.Config, namespace string) (*Client, error) {
	if namespace == "" {
		return nil, errors.New("chaosmesh: no namespace")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gameday"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: %w", err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: %w", err)
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: %w", err)
	}
	return &Client{dyn: dyn, http: hc, host: strings.TrimSuffix(base.String(), "/"), namespace: namespace}, nil
}

// Namespace is the client's namespace.
func (c *Client) Namespace() string { return c.namespace }

// Config is how the harness reaches the cluster: the kubeconfig file given
// (--kubeconfig), else KUBECONFIG's files, else ~/.kube/config, with
// context (--context) or the file's current one; with none of them, the
// in-cluster configuration of a pod's service account. The error names
// what was tried.
func Config(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		rules.ExplicitPath = kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err == nil {
		return cfg, nil
	}
	if kubeconfig == "" && context == "" && os.Getenv("KUBECONFIG") == "" {
		if in, ierr := rest.InClusterConfig(); ierr == nil {
			return in, nil
		}
	}
	if context != "" {
		return nil, fmt.Errorf("--context %s: %w", context, err)
	}
	if kubeconfig != "" {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	return nil, fmt.Errorf("kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config or a pod's service account): %w", err)
}
