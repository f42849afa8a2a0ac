package promserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/harness/certs"
	"go.yaml.in/yaml/v3"
)

// startTLSGate runs a gate serving TLS with client certificates required,
// from a throwaway CA (package certs).
func startTLSGate(t *testing.T) (*gate.Server, certs.Files) {
	t.Helper()
	dir := t.TempDir()
	f, err := certs.Write(filepath.Join(dir, "tls"), []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	g := gatetest.Start(t, gate.Options{Tokens: []auth.Token{auth.NewToken("scraper", token)},
		RateLimits:    map[string]ratelimit.Policy{"scraper": {Limit: 1000, Window: time.Second}},
		WebConfigFile: f.Path(certs.WebConfigFile)})
	srv := g.Server
	return srv, f
}

func TestRenderTLS(t *testing.T) {
	tls := &TLS{CAFile: "/tls/ca.crt", CertFile: "/tls/client.crt", KeyFile: "/tls/client.key", ServerName: "gate"}
	b, err := RenderInstances(prodConfig, RenderOptions{Instances: []Instance{{Address: "127.0.0.1:3000"}}, Credentials: tokenFiles(t, "x"), TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ScrapeConfigs []struct {
			JobName   string            `yaml:"job_name"`
			Scheme    string            `yaml:"scheme"`
			TLSConfig map[string]string `yaml:"tls_config"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ca_file": "/tls/ca.crt", "cert_file": "/tls/client.crt", "key_file": "/tls/client.key", "server_name": "gate"}
	for _, sc := range doc.ScrapeConfigs {
		if sc.Scheme != "https" || len(sc.TLSConfig) != len(want) {
			t.Errorf("job %s: scheme %q, tls_config %v", sc.JobName, sc.Scheme, sc.TLSConfig)
		}
		for k, v := range want {
			if sc.TLSConfig[k] != v {
				t.Errorf("job %s: tls_config.%s %q, want %q", sc.JobName, k, sc.TLSConfig[k], v)
			}
		}
	}
	for _, c := range []struct {
		tls  TLS
		want string
	}{
		{TLS{CertFile: "/c.crt"}, "cert_file and key_file go together"},
		{TLS{KeyFile: "/c.key"}, "cert_file and key_file go together"},
		{TLS{CAFile: "ca.crt"}, "ca_file \"ca.crt\": want an absolute path"},
	} {
		_, err := RenderInstances(prodConfig, RenderOptions{Instances: []Instance{{Address: "127.0.0.1:3000"}}, Credentials: tokenFiles(t, "x"), TLS: &c.tls})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.tls, err, c.want)
		}
	}
	// Without TLS the production scheme stays.
	b, _ = Render(prodConfig, "127.0.0.1:3000", tokenFiles(t, "x"))
	if strings.Contains(string(b), "https") || strings.Contains(string(b), "tls_config") {
		t.Errorf("rendered without TLS:\n%s", b)
	}
}

// A real Prometheus scrapes a gate requiring client certificates: with the
// CA and the client certificate both jobs are up; with the CA alone the
// handshake is refused and they are down. promtool accepts the rendered
// config.
func TestServerScrapesAGateServingMutualTLS(t *testing.T) {
	binary(t, "prometheus")
	g, f := startTLSGate(t)
	mtls := &TLS{CAFile: f.Path(certs.CAFile), CertFile: f.Path(certs.ClientCertFile), KeyFile: f.Path(certs.ClientKeyFile)}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		b, err := RenderInstances(prodConfig, RenderOptions{Instances: []Instance{{Address: g.Addr().String()}}, Credentials: tokenFiles(t, token), TLS: mtls})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "prometheus.yml")
		os.WriteFile(p, b, 0o600)
		if out, err := exec.Command(promtool, "check", "config", p).CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool check config with tls_config: %v\n%s", err, out)
		}
	}
	for _, c := range []struct {
		name string
		tls  *TLS
		up   string
	}{
		{"CA and client certificate", mtls, "1"},
		{"CA only", &TLS{CAFile: f.Path(certs.CAFile)}, "0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Start(t.Context(), Options{ConfigFile: prodConfig, Target: g.Addr().String(), Credentials: tokenFiles(t, token), TLS: c.tls})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Stop)
			deadline := time.Now().Add(40 * time.Second)
			for {
				data, err := s.API().Vector(t.Context(), `up`, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range data {
					if r.Value.String() == c.up {
						n++
					}
				}
				if n == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("up %s, want %s for both jobs after 40s:\n%s", data, c.up, s.Log())
				}
				time.Sleep(500 * time.Millisecond)
			}
			if strings.Contains(s.Log(), token) {
				t.Error("the token is in the server's log")
			}
		})
	}
}
