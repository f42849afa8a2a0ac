// Package scrapepath is the network path between the harness's scraper
// and a gate, as a TCP proxy the harness owns (Shopify's toxiproxy, used
// as a library): what the scrape-path fault breaks — latency, a bandwidth
// limit, connection resets, a black hole — while the load goes straight
// to the gate. It has one toxic at a time, named Toxic.
package scrapepath

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Toxic is the name of the path's one toxic.
const Toxic = "gameday-scrape-path"

// Path is a running proxy in front of one gate.
type Path struct {
	proxy *toxiproxy.Proxy
}

// Start listens on a free loopback port and forwards every connection to
// upstream (the gate's host:port).
func Start(upstream string) (*Path, error) {
	// toxiproxy's toxics log through zerolog's global logger; nothing of
	// theirs may reach the run's progress lines, and the program has no
	// other zerolog user.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "gate", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("scrape path: %w", err)
	}
	return &Path{proxy: p}, nil
}

// Addr is where the scraper connects: host:port.
func (p *Path) Addr() string { return p.proxy.Listen }

// Add puts the toxic on the path, on the gate's answers (downstream):
// kind is a toxiproxy type (latency, bandwidth, reset_peer, timeout) and
// attrs its attributes.
func (p *Path) Add(kind string, attrs map[string]any) error {
	b, err := json.Marshal(map[string]any{"name": Toxic, "type": kind, "stream": "downstream", "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		return err
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("scrape path: add the %s toxic: %w", kind, err)
	}
	return nil
}

// Remove takes the toxic off the path (nothing when there is none). A
// connection the toxic held flows again; the scraper's timeout has
// usually ended it by then.
func (p *Path) Remove(ctx context.Context) error {
	if !p.Active() {
		return nil
	}
	if err := p.proxy.Toxics.RemoveToxic(ctx, Toxic); err != nil {
		return fmt.Errorf("scrape path: remove the toxic: %w", err)
	}
	return nil
}

// Active reports whether the toxic is on the path.
func (p *Path) Active() bool {
	for _, t := range p.proxy.Toxics.GetToxicArray() {
		if w, ok := t.(*toxics.ToxicWrapper); ok && w.Name == Toxic {
			return true
		}
	}
	return false
}

// Stop closes the proxy and its connections.
func (p *Path) Stop() { p.proxy.Stop() }

// Port is the proxy's port, for a URL.
func (p *Path) Port() string {
	_, port, _ := net.SplitHostPort(p.proxy.Listen)
	return port
}
