package kube

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/scenario"
)

// Harness writes the scenario as a scheduled GameDay whose harness injects
// its faults (gameday export --format kube): a CronJob running gameday run
// --target kube=NAMESPACE (concurrencyPolicy Forbid) as a ServiceAccount
// whose Role holds exactly what the run's pre-flight checks
// (chaosmesh.Verbs on the Chaos Mesh kinds the scenario's faults create,
// list on pods), bound to it. The harness creates, proves and deletes the
// Chaos Mesh objects itself, so the verdict covers the faults; ChaosMesh's
// Schedules stay the shape for chaos without a verdict. A scenario the
// kube target refuses (harness.CheckKube) is a *FieldError naming the
// field.
func Harness(w io.Writer, s *scenario.Spec, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	if err := harness.CheckKube(s); err != nil {
		var fe *scenario.FieldError
		if errors.As(err, &fe) {
			return &FieldError{Field: fe.Field, Problem: "gameday run --target kube= would refuse it: " + fe.Problem}
		}
		return fmt.Errorf("export: %w", err)
	}
	base, meta := dnsName(s.Name), metaOf(s, o)
	t := chaosmesh.Target{Namespace: o.Namespace, Labels: o.Labels, Container: o.Container, CachePath: o.CachePath}
	var resources []string
	for i, f := range s.Faults {
		if !chaosmesh.IsChaos(f.Name) {
			continue
		}
		k, _, err := chaosmesh.ForFault(f.Name, f.Params, t)
		if err != nil {
			return &FieldError{Field: fmt.Sprintf("faults[%d]", i), Problem: err.Error()}
		}
		if !slices.Contains(resources, k.Resource) {
			resources = append(resources, k.Resource)
		}
	}
	sa := "gameday-" + base
	if len(sa) > 63 {
		sa = sa[:63]
	}
	rules := []policyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}
	if len(resources) > 0 {
		rules = append([]policyRule{{APIGroups: []string{chaosmesh.Group}, Resources: resources, Verbs: chaosmesh.Verbs}}, rules...)
	}
	target := []string{"--target", "kube=" + o.Namespace, "--selector", FormatLabels(o.Labels), "--service", o.GateURL,
		"--container", o.Container, "--cache-path", o.CachePath}
	cron, cm, err := cronJob(s, o, base, meta, target, sa)
	if err != nil {
		return err
	}
	docs := []doc{
		{comment: "The identity of the CronJob's gameday run (its in-cluster configuration).", obj: serviceAccountObj{APIVersion: "v1", Kind: "ServiceAccount", Metadata: meta(sa, nil)}},
		{comment: "Exactly what gameday run's pre-flight checks with SelfSubjectAccessReview:\ncreate, get, watch, delete and list on the Chaos Mesh kinds its faults\ncreate, and list on pods (the selection it proves the records against).",
			obj: roleObj{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role", Metadata: meta(sa, nil), Rules: rules}},
		{comment: "The Role, to the ServiceAccount.", obj: roleBindingObj{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding", Metadata: meta(sa, nil),
			RoleRef:  roleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: sa},
			Subjects: []subject{{Kind: "ServiceAccount", Name: sa, Namespace: o.Namespace}}}},
	}
	if cm != nil {
		docs = append(docs, doc{comment: "The scenario the CronJob runs (-f), as exported.", obj: *cm})
	}
	docs = append(docs, doc{comment: "Runs the GameDay on --schedule with gameday run --target kube=" + o.Namespace + ": the\n" +
		"harness creates each fault's Chaos Mesh object at its offset (with its duration,\n" +
		"so it stops if the pod dies), proves it injected from the object's status\n" +
		"records, deletes it at the fault's end, and judges the gates through the\n" +
		"Service (--gate-url) and the team's Prometheus. Needs Chaos Mesh installed.\n" +
		"REPLACE the placeholders: the instance label (--prometheus-instance) and the\n" +
		"secret " + TokenSecret + " (keys " + metricsKey + ", " + adminKey + "). docs/KUBERNETES.md.", obj: cron})
	head := "# The CronJob's gameday run injects, proves and reverts every fault itself\n# (Chaos Mesh objects it owns): its verdict covers them.\n"
	return writeDocs(w, s, o, "kube", head, docs)
}
