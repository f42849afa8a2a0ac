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
)

var prodConfig = filepath.Join("..", "..", "config", "prometheus.yml")

// binary returns the prometheus (or promtool) binary; without it the test
// fails under CI (.ci/run installs Debian's prometheus package) and skips
// elsewhere.
func binary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs Debian's prometheus package", name)
		}
		t.Skipf("%s is not installed (apt-get install prometheus); CI runs this test", name)
	}
	return p
}

func TestLoadProductionConfig(t *testing.T) {
	c, err := LoadConfig(prodConfig)
	if err != nil {
		t.Fatal(err)
	}
	if c.ScrapeInterval != 5*time.Second || c.EvaluationInterval != 5*time.Second || c.ScrapeTimeout != 4*time.Second {
		t.Errorf("intervals %s/%s/%s, want 5s scrape, 5s evaluation, 4s timeout (the harness's)", c.ScrapeInterval, c.EvaluationInterval, c.ScrapeTimeout)
	}
	if len(c.RuleFiles) != 1 || c.RuleFiles[0] != "alerts.yml" {
		t.Errorf("rule_files %v", c.RuleFiles)
	}
	want := []Job{
		{Name: "quannex-gate", MetricsPath: "/metrics", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
		{Name: "quannex-gate-self", MetricsPath: "/metrics/self", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
	}
	if len(c.Jobs) != len(want) {
		t.Fatalf("jobs %+v", c.Jobs)
	}
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		if seen[j.CredentialsFile] || j.CredentialsFile == "" {
			t.Errorf("job %s: credentials_file %q: each job needs its own token file", j.Name, j.CredentialsFile)
		}
		seen[j.CredentialsFile] = true
		j.CredentialsFile = ""
		if j != want[i] {
			t.Errorf("job %d: %+v, want %+v", i, j, want[i])
		}
	}
}

func TestLoadConfigNamesTheField(t *testing.T) {
	cases := map[string]string{
		"global.scrape_interval: \"soon\"": "global: {scrape_interval: soon}\nscrape_configs: [{job_name: a}]\n",
		"scrape_configs[0].job_name":       "scrape_configs: [{metrics_path: /x}]\n",
		"scrape_configs: no job":           "global: {}\n",
		"authorization.type":               "scrape_configs: [{job_name: a, authorization: {type: Basic}}]\n",
	}
	for want, doc := range cases {
		p := filepath.Join(t.TempDir(), "p.yml")
		os.WriteFile(p, []byte(doc), 0o600)
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}

// tokenFiles writes a 0600 token file per job of the production config.
func tokenFiles(t *testing.T, token string) map[string]string {
	t.Helper()
	c, err := LoadConfig(prodConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]string{}
	for _, j := range c.Jobs {
		p := filepath.Join(dir, j.Name+".token")
		if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		out[j.Name] = p
	}
	return out
}

// TestPromtoolCheckConfig: `promtool check config` needs the credentials
// files to exist, so it checks the production config rendered with
// temporary token files (and, through rule_files, config/alerts.yml).
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := binary(t, "promtool")
	b, err := Render(prodConfig, "127.0.0.1:3000", tokenFiles(t, "not-a-real-token"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "not-a-real-token") {
		t.Fatal("a token was written into the config")
	}
	p := filepath.Join(t.TempDir(), "prometheus.yml")
	os.WriteFile(p, b, 0o600)
	out, err := exec.Command(promtool, "check", "config", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "rules found") {
		t.Errorf("promtool did not check the rules file:\n%s", out)
	}
}

func TestRenderNeedsEveryJobsCredentials(t *testing.T) {
	creds := tokenFiles(t, "x")
	delete(creds, "quannex-gate-self")
	if _, err := Render(prodConfig, "127.0.0.1:3000", creds); err == nil || !strings.Contains(err.Error(), "quannex-gate-self") {
		t.Fatalf("a job without credentials was rendered: %v", err)
	}
}

const token = "promserver-test-token-0001"

func startGate(t *testing.T) *gate.Server {
	t.Helper()
	return gatetest.Start(t, gate.Options{Tokens: []auth.Token{auth.NewToken("scraper", token)},
		RateLimits: map[string]ratelimit.Policy{"scraper": {Limit: 1000, Window: time.Second}}}).Server
}

// TestServerScrapesBothJobsOnce: a real Prometheus runs the production
// config and rules against a gate. Both jobs are up, the gate's health
// series exist once per job, and what the rules compute exists once per
// instance.
func TestServerScrapesBothJobsOnce(t *testing.T) {
	binary(t, "prometheus")
	g := startGate(t)
	s, err := Start(t.Context(), Options{ConfigFile: prodConfig, Target: "http://" + g.Addr().String(), Credentials: tokenFiles(t, token)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	count := func(q string) int {
		vec, err := s.API().Vector(t.Context(), q, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return len(vec)
	}
	deadline := time.Now().Add(40 * time.Second)
	for count(`up == 1`) < 2 || count(`slo:requests:increase5m{slo="availability"}`) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("not both jobs up with the rules evaluated after 40s:\n%s", s.Log())
		}
		time.Sleep(time.Second)
	}
	// AwaitScrapesPast: the scrapes that begin after now are stored
	// within an interval and a scrape timeout; a time past the wait is
	// never reached, nor is one of a job that has no target.
	at := time.Now()
	if ok, err := s.API().AwaitScrapesPast(t.Context(), `job="quannex-gate"`, at, 20*time.Second); err != nil || !ok {
		t.Errorf("AwaitScrapesPast(now): %v, %v; want the next scrape within 20s", ok, err)
	} else if v, _, _ := s.API().Scalar(t.Context(), `min(timestamp(up{job="quannex-gate"}))`, time.Now()); v < float64(at.Unix()) {
		t.Errorf("AwaitScrapesPast returned with the last scrape at %v, before %v", v, at.Unix())
	}
	if ok, err := s.API().AwaitScrapesPast(t.Context(), "", time.Now().Add(time.Hour), 2*time.Second); err != nil || ok {
		t.Errorf("AwaitScrapesPast(in an hour, 2s): %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.API().AwaitScrapesPast(t.Context(), `job="none"`, at.Add(-time.Hour), time.Second); err != nil || ok {
		t.Errorf("AwaitScrapesPast(a job with no target): %v, %v; want false, nil", ok, err)
	}
	if n := count(`count by (job) (quannex_build_info)`); n != 2 {
		t.Errorf("quannex_build_info in %d jobs, want 2 (the payload and the self job)", n)
	}
	if n := count(`slo:requests:increase5m{slo="availability"}`); n != 1 {
		t.Errorf("slo:requests:increase5m: %d series, want 1 per instance", n)
	}
	if strings.Contains(s.Log(), token) {
		t.Error("the token is in the server's log")
	}
	// Nothing fires on a healthy gate; the timeline reads back empty.
	al, err := s.API().Alerts(t.Context(), time.Now().Add(-time.Minute), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range al {
		if a.FiringAt != nil {
			t.Errorf("alert on a healthy gate: %+v", a)
		}
	}
	dir := s.dir
	s.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Stop left %s", dir)
	}
}

// TestAlertsTimeline: a rule true for the first 10 s of every 20 s, with
// `for: 5s`, on a real Prometheus (the production config, its rules
// swapped for this one, its targets unreachable). Alerts must read back
// pending, firing and inactive at the server's own evaluation times.
func TestAlertsTimeline(t *testing.T) {
	binary(t, "prometheus")
	dir := t.TempDir()
	cfg, _ := os.ReadFile(prodConfig)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(strings.Replace(string(cfg), "  - alerts.yml", "  - rules.yml", 1)), 0o600)
	os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(`groups:
  - name: t
    rules:
      - alert: Square
        expr: vector(1) and on() (vector(time() % 20) < 10)
        for: 5s
        labels: {severity: test}
`), 0o600)
	since := time.Now() // the first evaluation may come before ready
	s, err := Start(t.Context(), Options{ConfigFile: filepath.Join(dir, "prometheus.yml"), Target: "127.0.0.1:1", Credentials: tokenFiles(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	// Long enough for one full on-window and its end, wherever it starts.
	time.Sleep(50 * time.Second)
	al, err := s.API().Alerts(t.Context(), since, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(al) != 1 || al[0].Name != "Square" || al[0].Severity != "test" || al[0].Labels["severity"] != "test" {
		t.Fatalf("alerts %+v", al)
	}
	a := al[0]
	defer func() {
		if t.Failed() {
			raw, _ := s.API().Samples(t.Context(), "ALERTS[80s]", time.Now())
			t.Logf("transitions %v\nALERTS %s", a.Transitions, raw)
		}
	}()
	if a.Firings < 1 || a.ResolvedAt == nil || a.FiringAt == nil || a.PendingAt == nil || a.FiringAt.Before(*a.PendingAt) {
		t.Fatalf("timeline %+v", a)
	}
	// The on-window the server started in may show firing without a
	// pending sample (Prometheus restores `for` state around its first
	// evaluations); from the first resolution on, every step is in order.
	prev, started := "inactive", false
	for _, tr := range a.Transitions {
		want := map[string]string{"inactive": "pending", "pending": "firing", "firing": "inactive"}[prev]
		// An on-window that began less than 5 s before the server's
		// first evaluation ends pending, never firing.
		if started && (tr.From != prev || (tr.To != want && !(prev == "pending" && tr.To == "inactive"))) {
			t.Errorf("transition %s -> %s at %s after %s", tr.From, tr.To, tr.At.Format(time.TimeOnly), prev)
		}
		wasStarted := started
		started = started || tr.To == "inactive"
		prev = tr.To
		sec := tr.At.Unix() % 20
		switch tr.To {
		case "firing": // held for 5 s: 5..9 s into the window
			if wasStarted && (sec < 5 || sec >= 10) {
				t.Errorf("fired %ds into the 20 s cycle", sec)
			}
		case "inactive": // the first evaluation of the off half
			if sec < 10 || sec >= 10+5+1 {
				t.Errorf("resolved %ds into the 20 s cycle", sec)
			}
		}
	}
}
