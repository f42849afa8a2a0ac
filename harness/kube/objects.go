package kube

// The exported objects, as small structs holding only the fields this
// package writes. Field names and places are checked by kube_test.go, which
// decodes the output strictly into the Chaos Mesh and Kubernetes Go types.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Chaos Mesh (chaos-mesh.org/v1alpha1).

type podSelector struct {
	Namespaces     []string          `yaml:"namespaces"`
	LabelSelectors map[string]string `yaml:"labelSelectors"`
}

type containerSelector struct {
	Selector       podSelector `yaml:"selector"`
	Mode           string      `yaml:"mode"`
	Value          string      `yaml:"value,omitempty"` // modes fixed and fixed-percent
	ContainerNames []string    `yaml:"containerNames,omitempty"`
}

// schedule is a Chaos Mesh Schedule: Chaos Mesh creates the embedded chaos
// on its cron schedule.
type schedule struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   objectMeta   `yaml:"metadata"`
	Spec       scheduleSpec `yaml:"spec"`
}

type scheduleSpec struct {
	Schedule                string            `yaml:"schedule"`
	StartingDeadlineSeconds *int64            `yaml:"startingDeadlineSeconds,omitempty"`
	ConcurrencyPolicy       string            `yaml:"concurrencyPolicy"`
	HistoryLimit            int               `yaml:"historyLimit"`
	Type                    string            `yaml:"type"`
	StressChaos             *stressChaosSpec  `yaml:"stressChaos,omitempty"`
	IOChaos                 *ioChaosSpec      `yaml:"ioChaos,omitempty"`
	PodChaos                *podChaosSpec     `yaml:"podChaos,omitempty"`
	NetworkChaos            *networkChaosSpec `yaml:"networkChaos,omitempty"`
}

// networkChaosSpec is a NetworkChaos between the selected pods and its
// target's: netem (delay, loss), a token-bucket bandwidth limit, or a
// partition.
type networkChaosSpec struct {
	containerSelector `yaml:",inline"` // the pod selector; ContainerNames stays empty
	Action            string           `yaml:"action"`
	Direction         string           `yaml:"direction"`
	Target            *podTarget       `yaml:"target"`
	Delay             *netDelay        `yaml:"delay,omitempty"`
	Loss              *netLoss         `yaml:"loss,omitempty"`
	Bandwidth         *netBandwidth    `yaml:"bandwidth,omitempty"`
	Duration          string           `yaml:"duration"`
}

type podTarget struct {
	Selector podSelector `yaml:"selector"`
	Mode     string      `yaml:"mode"`
}

type netDelay struct {
	Latency string `yaml:"latency"`
}

type netLoss struct {
	Loss string `yaml:"loss"`
}

type netBandwidth struct {
	Rate   string `yaml:"rate"`
	Limit  uint32 `yaml:"limit"`
	Buffer uint32 `yaml:"buffer"`
}

type podChaosSpec struct {
	containerSelector `yaml:",inline"`
	Action            string `yaml:"action"`
}

type stressChaosSpec struct {
	containerSelector `yaml:",inline"`
	Stressors         stressors `yaml:"stressors"`
	Duration          string    `yaml:"duration"`
}

type stressors struct {
	CPU    *cpuStressor    `yaml:"cpu,omitempty"`
	Memory *memoryStressor `yaml:"memory,omitempty"`
}

type memoryStressor struct {
	Workers int    `yaml:"workers"`
	Size    string `yaml:"size"`
}

type cpuStressor struct {
	Workers int `yaml:"workers"`
	Load    int `yaml:"load"`
}

type ioChaosSpec struct {
	containerSelector `yaml:",inline"`
	Action            string   `yaml:"action"`
	Errno             int      `yaml:"errno"`
	VolumePath        string   `yaml:"volumePath"`
	Path              string   `yaml:"path"`
	Methods           []string `yaml:"methods"`
	Percent           int      `yaml:"percent"`
	Duration          string   `yaml:"duration"`
}

// Kubernetes core and batch (v1).

type configMap struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
}

type cronJobObj struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   objectMeta  `yaml:"metadata"`
	Spec       cronJobSpec `yaml:"spec"`
}

type cronJobSpec struct {
	Schedule                   string      `yaml:"schedule"`
	ConcurrencyPolicy          string      `yaml:"concurrencyPolicy"`
	SuccessfulJobsHistoryLimit *int32      `yaml:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32      `yaml:"failedJobsHistoryLimit,omitempty"`
	JobTemplate                jobTemplate `yaml:"jobTemplate"`
}

type jobTemplate struct {
	Spec jobSpec `yaml:"spec"`
}

type jobSpec struct {
	BackoffLimit          *int32      `yaml:"backoffLimit"`
	ActiveDeadlineSeconds int64       `yaml:"activeDeadlineSeconds"`
	Template              podTemplate `yaml:"template"`
}

type podTemplate struct {
	Spec podSpec `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName string              `yaml:"serviceAccountName,omitempty"`
	RestartPolicy      string              `yaml:"restartPolicy"`
	SecurityContext    *podSecurityContext `yaml:"securityContext,omitempty"`
	Containers         []container         `yaml:"containers"`
	Volumes            []volume            `yaml:"volumes,omitempty"`
}

type podSecurityContext struct {
	RunAsNonRoot bool  `yaml:"runAsNonRoot"`
	RunAsUser    int64 `yaml:"runAsUser"`
	RunAsGroup   int64 `yaml:"runAsGroup"`
	FSGroup      int64 `yaml:"fsGroup"` // the group of the secret volume's files
}

type container struct {
	Name         string        `yaml:"name"`
	Image        string        `yaml:"image"`
	Args         []string      `yaml:"args"`
	VolumeMounts []volumeMount `yaml:"volumeMounts,omitempty"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly,omitempty"`
}

type volume struct {
	Name      string           `yaml:"name"`
	ConfigMap *configMapSource `yaml:"configMap,omitempty"`
	Secret    *secretSource    `yaml:"secret,omitempty"`
	EmptyDir  *struct{}        `yaml:"emptyDir,omitempty"`
}

type secretSource struct {
	SecretName  string `yaml:"secretName"`
	DefaultMode *int32 `yaml:"defaultMode,omitempty"`
}

type configMapSource struct {
	Name string `yaml:"name"`
}

// RBAC (rbac.authorization.k8s.io/v1) and the ServiceAccount.

type serviceAccountObj struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type roleObj struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   objectMeta   `yaml:"metadata"`
	Rules      []policyRule `yaml:"rules"`
}

type policyRule struct {
	APIGroups []string `yaml:"apiGroups"`
	Resources []string `yaml:"resources"`
	Verbs     []string `yaml:"verbs"`
}

type roleBindingObj struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	RoleRef    roleRef    `yaml:"roleRef"`
	Subjects   []subject  `yaml:"subjects"`
}

type roleRef struct {
	APIGroup string `yaml:"apiGroup"`
	Kind     string `yaml:"kind"`
	Name     string `yaml:"name"`
}

type subject struct {
	Kind      string `yaml:"kind"`
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

// Argo Rollouts (argoproj.io/v1alpha1).

type analysisTemplateObj struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   objectMeta   `yaml:"metadata"`
	Spec       analysisSpec `yaml:"spec"`
}

type analysisSpec struct {
	Args    []analysisArg    `yaml:"args"`
	Metrics []analysisMetric `yaml:"metrics"`
}

type analysisArg struct {
	Name string `yaml:"name"`
}

type analysisMetric struct {
	Name              string           `yaml:"name"`
	Interval          string           `yaml:"interval"`
	Count             int              `yaml:"count"`
	FailureLimit      int              `yaml:"failureLimit"`
	InconclusiveLimit int              `yaml:"inconclusiveLimit"`
	SuccessCondition  string           `yaml:"successCondition"`
	FailureCondition  string           `yaml:"failureCondition"`
	Provider          analysisProvider `yaml:"provider"`
}

type analysisProvider struct {
	Prometheus prometheusProvider `yaml:"prometheus"`
}

type prometheusProvider struct {
	Address string `yaml:"address"`
	Query   string `yaml:"query"`
}
