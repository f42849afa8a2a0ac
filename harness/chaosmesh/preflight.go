package chaosmesh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Verbs are what a run needs on each chaos kind it creates: create the
// object, get and watch it for the proofs, delete it at the revert, and
// list it for gameday cleanup --kube. The exported Role grants exactly
// these (and list on pods, which the selection reads).
var Verbs = []string{"create", "get", "watch", "delete", "list"}

// PreflightError is a finding of the pre-flight: the run cannot happen on
// this cluster as it is (exit 3).
type PreflightError struct {
	// What failed: "crd", "rbac" or "selector".
	Check string
	Msg   string
}

func (e *PreflightError) Error() string { return "pre-flight: " + e.Msg }

// Need is what a run asks of the cluster: the kinds its faults create and,
// per fault, the spec whose selector must match enough pods.
type Need struct {
	Kinds []Kind
	// Selectors are the chaos specs, by field (faults[i]), whose
	// selectors must each match at least one pod.
	Selectors map[string]map[string]any
}

// Preflight checks, before anything is created, that Chaos Mesh's CRDs for
// the kinds are served (discovery), that the harness's identity may use
// each verb of Verbs on each kind and list pods in the namespace
// (SelfSubjectAccessReview), and that each fault's selector matches pods.
// The first finding is returned as a *PreflightError naming the CRD, the
// verb and kind, or the field.
func (c *Client) Preflight(ctx context.Context, need Need) error {
	served, err := c.served(ctx)
	if err != nil {
		return fmt.Errorf("pre-flight: discovery of %s/%s: %w", Group, Version, err)
	}
	for _, k := range need.Kinds {
		if !served[k.Resource] {
			return &PreflightError{Check: "crd", Msg: fmt.Sprintf("the cluster does not serve %s (Chaos Mesh's CRD %s is not installed): install Chaos Mesh, or its CRDs (docs/KUBERNETES.md)", k.Kind, k)}
		}
	}
	type access struct {
		verb string
		gvr  schema.GroupVersionResource
		what string
	}
	var asks []access
	for _, k := range need.Kinds {
		for _, v := range Verbs {
			asks = append(asks, access{v, k.GVR(), k.String()})
		}
	}
	asks = append(asks, access{"list", podsGVR, "pods"})
	for _, a := range asks {
		ok, reason, err := c.allowed(ctx, a.verb, a.gvr)
		if err != nil {
			return fmt.Errorf("pre-flight: SelfSubjectAccessReview %s %s: %w", a.verb, a.what, err)
		}
		if !ok {
			msg := fmt.Sprintf("RBAC does not allow verb %q on %s in namespace %s", a.verb, a.what, c.namespace)
			if reason != "" {
				msg += " (" + reason + ")"
			}
			return &PreflightError{Check: "rbac", Msg: msg + ": grant it (gameday export --format kube writes the Role)"}
		}
	}
	for _, field := range slices.Sorted(maps.Keys(need.Selectors)) {
		if _, err := c.Selection(ctx, need.Selectors[field]); err != nil {
			return &PreflightError{Check: "selector", Msg: field + ": " + err.Error()}
		}
	}
	return nil
}

// served lists the resources the API server serves in Chaos Mesh's group
// and version (discovery: GET /apis/GROUP/VERSION); none when it does not
// serve the group.
func (c *Client) served(ctx context.Context) (map[string]bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.host+"/apis/"+Group+"/"+Version, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	served := map[string]bool{}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return served, nil
	default:
		return nil, fmt.Errorf("GET /apis/%s/%s: %s", Group, Version, resp.Status)
	}
	var list metav1.APIResourceList
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET /apis/%s/%s: %w", Group, Version, err)
	}
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	return served, nil
}

var ssarGVR = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}

// allowed asks the API server whether the caller may use verb on gvr in
// the client's namespace.
func (c *Client) allowed(ctx context.Context, verb string, gvr schema.GroupVersionResource) (bool, string, error) {
	review := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{
			"namespace": c.namespace, "verb": verb, "group": gvr.Group, "version": gvr.Version, "resource": gvr.Resource,
		}},
	}}
	got, err := c.dyn.Resource(ssarGVR).Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, "", err
	}
	ok, _, _ := unstructured.NestedBool(got.Object, "status", "allowed")
	reason, _, _ := unstructured.NestedString(got.Object, "status", "reason")
	return ok, strings.TrimSpace(reason), nil
}
