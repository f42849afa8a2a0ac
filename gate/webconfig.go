package gate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"
)

// TLS and client certificates come from an exporter-toolkit web config
// file (--web.config.file, the flag every Prometheus exporter has), parsed
// and turned into a tls.Config by exporter-toolkit (web.Validate,
// web.ConfigToTLSConfig). The gate serves it itself rather than through
// web.Serve, because of what web.Serve does when the files break at
// runtime: it re-reads the config on every request and answers HTTP 500 to
// connections already open when it does not parse, and it fails every new
// handshake ("tls: internal error") while the certificate, key or config
// is broken. The gate promises never to answer 500, and a certificate
// rotation that writes the key before the certificate should not refuse
// scrapes in between.
//
// So the config and the files it names are looked at again for every new
// TLS connection (GetConfigForClient) and every WebConfigPoll (so that the
// gauge below tells a broken set while every client keeps its connection
// open, as Prometheus does): a stat of each (its identity, size and
// modification time), and only when one changed are they read and parsed
// again (parsing the set costs milliseconds of CPU, which a flood of
// handshakes would otherwise multiply); a set that loads whole replaces
// the one in force; one that does not is logged once per distinct problem,
// sets quannex_web_config_last_reload_successful to 0 until a set loads
// again, and the last good certificate, client CAs and settings stay in
// force. Files
// replaced in place therefore apply to the next connection without a
// restart, as with web.Serve. Connections already open are never touched.
// http_server_config.http2 is read at start only (as web.Serve does); its
// headers follow the config in force.
//
// Bearer tokens stay the gate's own and apply on top of TLS; the web
// config's basic_auth_users are refused because both would need the
// Authorization header, and its rate_limit because the gate limits per
// token (METRICS_RATE_LIMITS).

// CheckWebConfig reports whether the web config at path parses and names
// readable certificate, key and client CA files, with exporter-toolkit's
// own check (web.Validate), and refuses basic_auth_users, rate_limit and
// a client_ca_file without a certificate.
// An empty path is plain HTTP and valid.
func CheckWebConfig(path string) error {
	if path == "" {
		return nil
	}
	_, err := parseWebConfig(path)
	return err
}

// parseWebConfig checks the web config at path (web.Validate and the
// gate's refusals) and returns it with the defaults web.Serve applies and
// file paths made absolute.
func parseWebConfig(path string) (*web.Config, error) {
	if err := web.Validate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Users) > 0 {
		return nil, errors.New("basic_auth_users is not supported: the gate authenticates with bearer tokens (METRICS_TOKENS)")
	}
	if c.RateLimiterConfig != (web.RateLimiterConfig{}) {
		return nil, errors.New("rate_limit is not supported: the gate limits per token (METRICS_RATE_LIMITS)")
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	// exporter-toolkit ignores a client CA file holding no certificate,
	// which then refuses every client.
	if f := c.TLSConfig.ClientCAs; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("client_ca_file %s: no PEM certificate in it", f)
		}
	}
	return c, nil
}

// tlsServing is the web config in force for a gate serving TLS.
type tlsServing struct {
	path    string
	log     *slog.Logger
	ok      prometheus.Gauge   // quannex_web_config_last_reload_successful
	reloads prometheus.Counter // quannex_web_config_reloads_total
	protos  []string           // ALPN, fixed at start

	cur     atomic.Pointer[tlsState]
	mu      sync.Mutex  // serialises loads and guards the fields below
	problem string      // the last problem logged; "" while the files load
	files   []string    // the config and the files it named at the last parse
	stamps  []fileStamp // of files before the last parse; nil: parse next time
}

// tlsState is one web config that loaded whole.
type tlsState struct {
	tls     *tls.Config
	headers map[string]string
}

// fileStamp tells whether a file changed: its identity (a file renamed
// over it is another), size and modification time; ok false for a file
// that cannot be stat'ed.
type fileStamp struct {
	ok    bool
	ino   uint64
	size  int64
	mtime int64
}

func stampFiles(paths []string) []fileStamp {
	out := make([]fileStamp, len(paths))
	for i, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			out[i] = fileStamp{ok: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				out[i].ino = uint64(st.Ino)
			}
		}
	}
	return out
}

// webConfigFiles lists the config at path and the files it names, as far
// as it parses as YAML: a set that does not load (a broken key) must still
// be watched for the change that mends it.
func webConfigFiles(path string) []string {
	files := []string{path}
	b, err := os.ReadFile(path)
	var c web.Config
	if err != nil || yaml.Unmarshal(b, &c) != nil {
		return files
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	for _, f := range []string{c.TLSConfig.TLSCertPath, c.TLSConfig.TLSKeyPath, c.TLSConfig.ClientCAs} {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}

// loadTLSState reads the web config at path and the files it names, which
// it also returns. The certificate is loaded once here, so a handshake
// never reads a file that may have broken since. err is errNoTLS when the
// config has no TLS section.
func loadTLSState(path string, protos []string) (st *tlsState, http2 bool, files []string, err error) {
	files = webConfigFiles(path)
	c, err := parseWebConfig(path)
	if err != nil {
		return nil, false, files, err
	}
	st, http2, err = tlsStateOf(c, protos)
	return st, http2, files, err
}

func tlsStateOf(c *web.Config, protos []string) (st *tlsState, http2 bool, err error) {
	if !c.TLSConfig.IsEnabled() {
		return nil, false, errNoTLS
	}
	cfg, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, false, err
	}
	cert, err := cfg.GetCertificate(nil) // reads cert_file and key_file
	if err != nil {
		return nil, false, err
	}
	cfg.GetCertificate = nil
	cfg.Certificates = []tls.Certificate{*cert}
	cfg.NextProtos = protos
	return &tlsState{tls: cfg, headers: c.HTTPConfig.Header}, c.HTTPConfig.HTTP2, nil
}

// errNoTLS is a web config without tls_server_config: plain HTTP at start;
// after start, a config the running gate cannot switch to.
var errNoTLS = errors.New("no tls_server_config: the gate serves TLS since it started with one, restart it to serve plain HTTP")

// newTLSServing loads the web config at path; it returns nil (and no
// error) when the config has no TLS section, which web.Serve too serves as
// plain HTTP.
func newTLSServing(path string, log *slog.Logger, ok prometheus.Gauge, reloads prometheus.Counter) (*tlsServing, error) {
	before := webConfigFiles(path)
	stamps := stampFiles(before)
	st, http2, files, err := loadTLSState(path, nil)
	if errors.Is(err, errNoTLS) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t := &tlsServing{path: path, log: log, ok: ok, reloads: reloads, protos: []string{"http/1.1"}, files: files}
	if slices.Equal(files, before) { // else parsed again at the first look
		t.stamps = stamps
	}
	if http2 {
		t.protos = []string{"h2", "http/1.1"}
	}
	st.tls.NextProtos = t.protos
	t.cur.Store(st)
	return t, nil
}

// configForClient is tls.Config.GetConfigForClient: the web config as it
// is now if it loads whole, else the last one that did. It never fails.
func (t *tlsServing) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	return t.reload().tls, nil
}

// watch re-reads the web config every interval until ctx ends. New
// connections re-read it anyway; this keeps the gauge and the log true
// while none arrives (Prometheus keeps its scrape connection open).
func (t *tlsServing) watch(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.reload()
		}
	}
}

// reload reads the web config and the files it names again if one of them
// changed since the last parse; a set that loads whole replaces the one in
// force. It returns the set in force.
func (t *tlsServing) reload() *tlsState {
	t.mu.Lock()
	defer t.mu.Unlock()
	before := stampFiles(t.files)
	if t.stamps != nil && slices.Equal(before, t.stamps) {
		return t.cur.Load()
	}
	st, _, files, err := loadTLSState(t.path, t.protos)
	// Stamped before the parse: a file changed during it differs at the
	// next look. A set naming other files is stamped after, so a change
	// to one of those during the parse waits for its next change.
	t.stamps = before
	if !slices.Equal(files, t.files) {
		t.files, t.stamps = files, stampFiles(files)
	}
	if err != nil {
		t.ok.Set(0)
		if p := err.Error(); p != t.problem {
			t.problem = p
			t.log.Warn("web config: re-read failed, new connections get the last good certificate until it loads",
				"web_config", t.path, "error", p)
		}
		return t.cur.Load()
	}
	t.ok.Set(1)
	t.reloads.Inc()
	if t.problem != "" {
		t.problem = ""
		t.log.Info("web config: loads again, new connections get it", "web_config", t.path)
	}
	t.cur.Store(st)
	return st
}

// headers wraps h to set http_server_config.headers of the config in force.
func (t *tlsServing) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range t.cur.Load().headers {
			w.Header().Set(k, v)
		}
		h.ServeHTTP(w, r)
	})
}
