package amserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// binary returns an Alertmanager binary; without one the test fails under
// CI (.ci/run installs Debian's prometheus-alertmanager package) and skips
// elsewhere.
func binary(t *testing.T) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no Alertmanager binary; .ci/run installs Debian's prometheus-alertmanager package")
		}
		t.Skip("no Alertmanager binary (apt-get install prometheus-alertmanager); CI runs this test")
	}
	return p
}

type rendered struct {
	Route struct {
		Receiver       string   `yaml:"receiver"`
		GroupBy        []string `yaml:"group_by"`
		GroupWait      string   `yaml:"group_wait"`
		GroupInterval  string   `yaml:"group_interval"`
		RepeatInterval string   `yaml:"repeat_interval"`
		Routes         []struct {
			Receiver string   `yaml:"receiver"`
			Matchers []string `yaml:"matchers"`
		} `yaml:"routes"`
	} `yaml:"route"`
	Receivers []struct {
		Name           string `yaml:"name"`
		WebhookConfigs []struct {
			URL          string `yaml:"url"`
			SendResolved bool   `yaml:"send_resolved"`
		} `yaml:"webhook_configs"`
	} `yaml:"receivers"`
}

func render(t *testing.T, o Options) rendered {
	t.Helper()
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	b, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return r
}

func TestConfigDefaults(t *testing.T) {
	r := render(t, Options{WebhookURL: "http://127.0.0.1:9/alerts"})
	if r.Route.Receiver != webhookReceiver || strings.Join(r.Route.GroupBy, ",") != "alertname,instance" {
		t.Errorf("route %+v: want every alert to the webhook, grouped by alertname and instance", r.Route)
	}
	if r.Route.GroupWait != "1s" || r.Route.GroupInterval != "1s" || r.Route.RepeatInterval != "3600s" {
		t.Errorf("timings %s/%s/%s, want 1s/1s/1h", r.Route.GroupWait, r.Route.GroupInterval, r.Route.RepeatInterval)
	}
	if len(r.Route.Routes) != 0 || len(r.Receivers) != 1 {
		t.Errorf("a drop route without Drop: %+v", r)
	}
	w := r.Receivers[0].WebhookConfigs
	if len(w) != 1 || w[0].URL != "http://127.0.0.1:9/alerts" || !w[0].SendResolved {
		t.Errorf("webhook %+v", w)
	}
}

func TestConfigDrop(t *testing.T) {
	r := render(t, Options{WebhookURL: "http://127.0.0.1:9/alerts", Drop: []string{"CircuitBreakerActive", "SnapshotStale"}, GroupWait: 1500 * time.Millisecond})
	if r.Route.GroupWait != "1500ms" {
		t.Errorf("group_wait %s", r.Route.GroupWait)
	}
	if len(r.Route.Routes) != 2 || r.Route.Routes[0].Receiver != dropReceiver || r.Route.Routes[0].Matchers[0] != `alertname="CircuitBreakerActive"` || r.Route.Routes[1].Matchers[0] != `alertname="SnapshotStale"` {
		t.Errorf("drop routes %+v", r.Route.Routes)
	}
	if len(r.Receivers) != 2 || r.Receivers[1].Name != dropReceiver || len(r.Receivers[1].WebhookConfigs) != 0 {
		t.Errorf("receivers %+v: want a drop receiver with nowhere to send", r.Receivers)
	}
}

func TestOptionsNameTheField(t *testing.T) {
	cases := map[string]Options{
		"webhook URL: required":   {},
		"webhook URL \"ftp://x\"": {WebhookURL: "ftp://x"},
		"drop[1]":                 {WebhookURL: "http://a/", Drop: []string{"Ok", "not ok\""}},
		"group wait":              {WebhookURL: "http://a/", GroupWait: -time.Second},
		"repeat interval":         {WebhookURL: "http://a/", RepeatInterval: time.Microsecond},
	}
	for want, o := range cases {
		if _, err := Start(t.Context(), o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := Start(t.Context(), Options{Binary: "/nonexistent/alertmanager", WebhookURL: "http://127.0.0.1:9/alerts"})
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "/nonexistent/alertmanager") {
		t.Fatalf("got %v, want ErrNoBinary naming the path", err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Binary(); !errors.Is(err, ErrNoBinary) {
		t.Fatalf("Binary with an empty PATH: %v", err)
	}
}

// TestStart: the real Alertmanager loads the generated config (with a drop
// route), runs without clustering, and ends with its context.
func TestStart(t *testing.T) {
	bin := binary(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	s, err := Start(ctx, Options{Binary: bin, WebhookURL: "http://127.0.0.1:9/alerts", Drop: []string{"CircuitBreakerActive"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	t.Logf("ready after %s", time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.URL != "http://"+s.Addr() {
		t.Errorf("URL %s, Addr %s", s.URL, s.Addr())
	}
	resp, err := http.Get(s.URL + "/api/v2/status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Cluster struct {
			Status string `json:"status"`
		} `json:"cluster"`
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Cluster.Status != "disabled" {
		t.Errorf("cluster status %q, want disabled", st.Cluster.Status)
	}
	if !strings.Contains(st.Config.Original, `alertname="CircuitBreakerActive"`) || !strings.Contains(st.Config.Original, "send_resolved: true") {
		t.Errorf("loaded config:\n%s", st.Config.Original)
	}
	cancel()
	select {
	case <-s.proc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("alertmanager still running 10s after its context ended")
	}
	dir := s.dir
	s.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Stop left %s", dir)
	}
}
