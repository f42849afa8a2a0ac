package target

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRemoteURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gate.staging:3000":   "https://gate.staging:3000",
		"http://127.0.0.1:3000/":      "http://127.0.0.1:3000",
		"https://gate.example/prefix": "https://gate.example/prefix",
	} {
		if got, err := ParseRemoteURL(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"gate.staging:3000":             "http:// or https://",
		"ftp://gate.staging":            "http:// or https://",
		"https://":                      "no host",
		"https://:3000":                 "no host",
		"https://u:secret@gate.staging": "credentials in the URL",
		"https://gate.staging/?x=1":     "no query",
		"http://[::1":                   "not a URL",
		"http://u:secret@[::1":          "not a URL",
		"ftp://u:secret@gate.staging":   "http:// or https://",
	} {
		_, err := ParseRemoteURL(in)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want an error containing %q", in, err, why)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error repeats the URL's password: %v", in, err)
		}
	}
}

// TestRemoteHasNoHost: a gate the harness did not start gives no cache
// directory, no stressor and no CPU figure, each as an error the runner
// can tell apart, and Stop leaves it alone.
func TestRemoteHasNoHost(t *testing.T) {
	r, err := NewRemote("https://gate.staging:3000")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != "url" || r.BaseURL() != "https://gate.staging:3000" || r.CacheDir() != "" || r.AvailableCores() != 0 || r.TLSConfig() != nil {
		t.Fatalf("remote: kind %s url %s cache %q cores %g", r.Kind(), r.BaseURL(), r.CacheDir(), r.AvailableCores())
	}
	if img, imgID, id, cpus := r.Describe(); img+imgID+id != "" || cpus != 0 {
		t.Errorf("Describe: %q %q %q %g", img, imgID, id, cpus)
	}
	if _, err := r.Burn(t.Context(), 1, 0); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Burn: %v", err)
	}
	if err := r.ProbeWrite(t.Context()); !errors.Is(err, ErrNotOurs) || errors.Is(err, ErrWriteDenied) {
		t.Errorf("ProbeWrite: %v (a refused write would prove cache-readonly)", err)
	}
	if _, err := r.CPUCores(t.Context()); !errors.Is(err, ErrCPUUnavailable) {
		t.Errorf("CPUCores: %v", err)
	}
	if _, _, err := r.CPUTime(t.Context()); !errors.Is(err, ErrCPUUnavailable) {
		t.Errorf("CPUTime: %v", err)
	}
	if err := r.Stop(t.Context()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
