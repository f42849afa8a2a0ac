package promserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var twoReplicas = []Instance{
	{Address: "10.0.0.1:3000", Labels: map[string]string{"instance": "replica-1", "track": "stable"}},
	{Address: "http://10.0.0.2:3000", Labels: map[string]string{"instance": "replica-2", "track": "canary"}},
}

func TestRenderInstances(t *testing.T) {
	b, err := RenderInstances(prodConfig, RenderOptions{Instances: twoReplicas, Alertmanagers: []string{"127.0.0.1:9093", "http://127.0.0.1:9094"}, Credentials: tokenFiles(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	type group struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels"`
	}
	var doc struct {
		ScrapeConfigs []struct {
			JobName       string  `yaml:"job_name"`
			StaticConfigs []group `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []group `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := []group{
		{Targets: []string{"10.0.0.1:3000"}, Labels: map[string]string{"instance": "replica-1", "track": "stable"}},
		{Targets: []string{"10.0.0.2:3000"}, Labels: map[string]string{"instance": "replica-2", "track": "canary"}},
	}
	if len(doc.ScrapeConfigs) != 2 {
		t.Fatalf("jobs:\n%s", b)
	}
	for _, sc := range doc.ScrapeConfigs {
		if !reflect.DeepEqual(sc.StaticConfigs, want) {
			t.Errorf("job %s: static_configs %+v, want %+v", sc.JobName, sc.StaticConfigs, want)
		}
	}
	am := doc.Alerting.Alertmanagers
	if len(am) != 1 || len(am[0].StaticConfigs) != 1 || !reflect.DeepEqual(am[0].StaticConfigs[0].Targets, []string{"127.0.0.1:9093", "127.0.0.1:9094"}) {
		t.Errorf("alerting.alertmanagers %+v", am)
	}
}

func TestRenderKeepsOneUnlabelledTarget(t *testing.T) {
	b, err := Render(prodConfig, "127.0.0.1:3000", tokenFiles(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "labels:") || strings.Contains(string(b), "alerting:") {
		t.Errorf("one gate rendered with labels or an alerting block:\n%s", b)
	}
}

func TestRenderInstancesNamesTheField(t *testing.T) {
	creds := tokenFiles(t, "x")
	cases := map[string]RenderOptions{
		"instances: none":              {},
		"instances[1].address":         {Instances: []Instance{{Address: "a:1"}, {Address: "no-port"}}},
		"instances[0].labels: \"a-b\"": {Instances: []Instance{{Address: "a:1", Labels: map[string]string{"a-b": "x"}}}},
		"instances[0].labels: \"__x\"": {Instances: []Instance{{Address: "a:1", Labels: map[string]string{"__x": "x"}}}},
		"instances[1]: same address":   {Instances: []Instance{{Address: "a:1"}, {Address: "a:1"}}},
		"alertmanagers[0]":             {Instances: []Instance{{Address: "a:1"}}, Alertmanagers: []string{"nowhere"}},
	}
	for want, o := range cases {
		o.Credentials = creds
		if _, err := RenderInstances(prodConfig, o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}

// TestPromtoolCheckFleetConfig: promtool accepts the production config
// rendered for a labelled fleet and an Alertmanager.
func TestPromtoolCheckFleetConfig(t *testing.T) {
	promtool := binary(t, "promtool")
	b, err := RenderInstances(prodConfig, RenderOptions{Instances: twoReplicas, Alertmanagers: []string{"127.0.0.1:9093"}, Credentials: tokenFiles(t, "not-a-real-token")})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "prometheus.yml")
	os.WriteFile(p, b, 0o600)
	out, err := exec.Command(promtool, "check", "config", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// TestServerScrapesInstances: a real Prometheus runs the production
// config against two tiny servers named replica-1 and replica-2, with a
// rule that fires for every instance that is up. Every job scrapes both
// under their instance labels, the alerts read back keep them, and the
// server knows the Alertmanager it was given.
func TestServerScrapesInstances(t *testing.T) {
	binary(t, "prometheus")
	var ins []Instance
	for i := 1; i <= 2; i++ {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# TYPE fleet_test_replica gauge\nfleet_test_replica %d\n", i)
		}))
		t.Cleanup(ts.Close)
		ins = append(ins, Instance{Address: ts.URL, Labels: map[string]string{"instance": fmt.Sprintf("replica-%d", i), "track": "stable"}})
	}
	ins[1].Labels["track"] = "canary"
	dir := t.TempDir()
	cfg, _ := os.ReadFile(prodConfig)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(strings.Replace(string(cfg), "  - alerts.yml", "  - rules.yml", 1)), 0o600)
	os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(`groups:
  - name: t
    rules:
      - alert: ReplicaUp
        expr: up{job="quannex-gate"} == 1
        labels: {severity: test}
`), 0o600)
	since := time.Now()
	s, err := Start(t.Context(), Options{ConfigFile: filepath.Join(dir, "prometheus.yml"), Instances: ins, Alertmanagers: []string{"127.0.0.1:1"}, Credentials: tokenFiles(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	type series struct {
		Metric map[string]string
	}
	query := func(q string) []series {
		vec, err := s.API().Vector(t.Context(), q, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var out []series
		for _, smp := range vec {
			out = append(out, series{Metric: labelMap(smp.Metric)})
		}
		return out
	}
	deadline := time.Now().Add(40 * time.Second)
	for len(query(`up == 1`)) < 4 || len(query(`ALERTS{alertstate="firing"}`)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not 4 targets up and 2 alerts firing after 40s: up %v\n%s", query(`up`), s.Log())
		}
		time.Sleep(time.Second)
	}
	var got []string
	for _, r := range query(`up`) {
		got = append(got, r.Metric["job"]+" "+r.Metric["instance"]+" "+r.Metric["track"])
	}
	sort.Strings(got)
	want := []string{"quannex-gate replica-1 stable", "quannex-gate replica-2 canary", "quannex-gate-self replica-1 stable", "quannex-gate-self replica-2 canary"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("up: %q, want %q", got, want)
	}
	for _, r := range query(`fleet_test_replica{job="quannex-gate"}`) {
		if r.Metric["instance"] == "" {
			t.Errorf("a sample without its instance: %v", r.Metric)
		}
	}
	al, err := s.API().Alerts(t.Context(), since, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	var fired []string
	for _, a := range al {
		if a.Name == "ReplicaUp" && a.FiringAt != nil {
			fired = append(fired, a.Labels["instance"])
		}
	}
	sort.Strings(fired)
	if !reflect.DeepEqual(fired, []string{"replica-1", "replica-2"}) {
		t.Errorf("alerts fired for instances %q, want replica-1 and replica-2: %+v", fired, al)
	}
	// The server reports the Alertmanager it sends to (unreachable here).
	resp, err := http.Get(s.URL + "/api/v1/alertmanagers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var am struct {
		Data struct {
			Active []struct {
				URL string `json:"url"`
			} `json:"activeAlertmanagers"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&am)
	if len(am.Data.Active) != 1 || !strings.Contains(am.Data.Active[0].URL, "127.0.0.1:1/") {
		t.Errorf("active alertmanagers %+v, want 127.0.0.1:1", am.Data.Active)
	}
}

// TestRenderKeepsExtraJobs: a job of RenderOptions.Jobs is added beside
// the config's own with its one target and honor_labels, and Instances
// does not rewrite it.
func TestRenderKeepsExtraJobs(t *testing.T) {
	b, err := RenderInstances(prodConfig, RenderOptions{Instances: twoReplicas, Credentials: tokenFiles(t, "x"), Jobs: map[string]string{"cadvisor": "127.0.0.1:4194"}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			HonorLabels   bool   `yaml:"honor_labels"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ScrapeConfigs) != 3 {
		t.Fatalf("jobs:\n%s", b)
	}
	extra := doc.ScrapeConfigs[2]
	if extra.JobName != "cadvisor" || !extra.HonorLabels || len(extra.StaticConfigs) != 1 || !reflect.DeepEqual(extra.StaticConfigs[0].Targets, []string{"127.0.0.1:4194"}) {
		t.Fatalf("the extra job: %+v\n%s", extra, b)
	}
}
