package amserver

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Receiver names in the generated config.
const (
	webhookReceiver = "gameday-webhook"
	dropReceiver    = "gameday-drop"
)

// alertName is the syntax Prometheus's rule files allow for an alert name;
// it needs no quoting inside a matcher.
var alertName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// validate fills the defaults and names the first field that is wrong.
func (o *Options) validate() error {
	if o.WebhookURL == "" {
		return errors.New("webhook URL: required")
	}
	u, err := url.Parse(o.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook URL %q: not an http(s) URL", o.WebhookURL)
	}
	for i, n := range o.Drop {
		if !alertName.MatchString(n) {
			return fmt.Errorf("drop[%d]: %q is not an alert name", i, n)
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"group wait", &o.GroupWait, time.Second},
		{"group interval", &o.GroupInterval, time.Second},
		{"repeat interval", &o.RepeatInterval, time.Hour},
		{"ready timeout", &o.ReadyTimeout, 30 * time.Second},
	} {
		switch {
		case *d.v < 0:
			return fmt.Errorf("%s: %s is negative", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	// Alertmanager's config takes whole milliseconds at least.
	for name, d := range map[string]time.Duration{"group wait": o.GroupWait, "group interval": o.GroupInterval, "repeat interval": o.RepeatInterval} {
		if d%time.Millisecond != 0 {
			return fmt.Errorf("%s: %s is not a whole number of milliseconds", name, d)
		}
	}
	return nil
}

// config renders Alertmanager's configuration: every alert goes to the
// webhook (resolved ones too), grouped per alert name and instance so that
// each instance's alert is its own notification, except the alert names
// in Drop, which go to a receiver with nowhere to send.
func (o *Options) config() ([]byte, error) {
	type route struct {
		Receiver       string   `yaml:"receiver"`
		GroupBy        []string `yaml:"group_by,omitempty"`
		GroupWait      string   `yaml:"group_wait,omitempty"`
		GroupInterval  string   `yaml:"group_interval,omitempty"`
		RepeatInterval string   `yaml:"repeat_interval,omitempty"`
		Matchers       []string `yaml:"matchers,omitempty"`
		Routes         []route  `yaml:"routes,omitempty"`
	}
	type webhook struct {
		URL          string `yaml:"url"`
		SendResolved bool   `yaml:"send_resolved"`
	}
	type receiver struct {
		Name           string    `yaml:"name"`
		WebhookConfigs []webhook `yaml:"webhook_configs,omitempty"`
	}
	cfg := struct {
		Route     route      `yaml:"route"`
		Receivers []receiver `yaml:"receivers"`
	}{
		Route: route{
			Receiver:       webhookReceiver,
			GroupBy:        []string{"alertname", "instance"},
			GroupWait:      promDuration(o.GroupWait),
			GroupInterval:  promDuration(o.GroupInterval),
			RepeatInterval: promDuration(o.RepeatInterval),
		},
		Receivers: []receiver{{Name: webhookReceiver, WebhookConfigs: []webhook{{URL: o.WebhookURL, SendResolved: true}}}},
	}
	if len(o.Drop) > 0 {
		for _, n := range o.Drop {
			cfg.Route.Routes = append(cfg.Route.Routes, route{Receiver: dropReceiver, Matchers: []string{`alertname="` + n + `"`}})
		}
		cfg.Receivers = append(cfg.Receivers, receiver{Name: dropReceiver})
	}
	return yaml.Marshal(cfg)
}

// promDuration writes d in Prometheus's duration syntax, which has no
// fractions: 1500ms, not 1.5s.
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
