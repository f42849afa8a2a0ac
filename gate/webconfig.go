package gate

import (
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"
)

// TLS and client certificates come from an exporter-toolkit web config
// file (--web.config.file, the flag every Prometheus exporter has), served
// by web.Serve. exporter-toolkit reads the config and the certificate, key
// and client CA files again for every TLS handshake (GetConfigForClient) and
// the config for every request, so files replaced in place apply to new
// connections without a restart. The gate relies on that rather than
// watching the files itself.
//
// Bearer tokens stay the gate's own and apply on top of TLS; the web
// config's basic_auth_users are refused because both would need the
// Authorization header.

// CheckWebConfig reports whether the web config at path parses and names
// readable certificate, key and client CA files, with exporter-toolkit's
// own check (web.Validate), and refuses basic_auth_users. An empty path is
// plain HTTP and valid.
func CheckWebConfig(path string) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c struct {
		Users map[string]any `yaml:"basic_auth_users"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Users) > 0 {
		return errors.New("basic_auth_users is not supported: the gate authenticates with bearer tokens (METRICS_TOKENS)")
	}
	return nil
}
