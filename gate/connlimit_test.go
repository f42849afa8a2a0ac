package gate_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/metrics"
)

// TestMaxConnections: with a cap of two (and no share per address, so that
// one test client can reach it), a third connection is not served while
// the first two stay open (idle keep-alive connections count), and is
// served as soon as one of them closes.
func TestMaxConnections(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.MaxConnections, o.MaxConnectionsPerAddress = 2, gate.NoConnectionLimit })
	healthz := func(c net.Conn, wait time.Duration) (*http.Response, error) {
		t.Helper()
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	held := []net.Conn{dial(), dial()}
	for i, c := range held {
		if resp, err := healthz(c, 5*time.Second); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d under the cap: %v", i+1, err)
		}
	}
	third := dial() // the kernel completes the handshake; the gate must not accept it
	if resp, err := healthz(third, 500*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a third connection was served with two open and a cap of 2: %v, %v", resp, err)
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the third connection once one closed: %v", err)
	}
	resp.Body.Close()
}

// dialFrom connects to the gate from the loopback address src (any of
// 127/8 on Linux): another client, as far as the gate can tell.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// healthzOn sends GET /healthz on c and returns the status, or 0 when the
// gate closed the connection instead of answering. It waits up to a
// generous deadline and fails the test past it.
func healthzOn(t *testing.T, c net.Conn) int {
	t.Helper()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n")); err != nil {
		return 0 // closed already
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer from the gate within 10s on a connection from %s", c.LocalAddr())
	}
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOneAddressCannotTakeEveryConnection: one client opens as many
// connections as the gate's total cap and keeps them. Past its share the
// gate closes them at once, so another client, and its health probe, is
// still answered.
func TestOneAddressCannotTakeEveryConnection(t *testing.T) {
	const total = 8
	g := startGate(t, func(o *gate.Options) { o.MaxConnections = total })
	addr := g.Addr().String()
	served := 0
	for range total {
		if healthzOn(t, dialFrom(t, "127.0.0.1", addr)) == 200 {
			served++ // kept open: idle keep-alive connections count
		}
	}
	if served == total || served == 0 {
		t.Fatalf("one address got %d of %d connections served", served, total)
	}
	if code := healthzOn(t, dialFrom(t, "127.0.0.2", addr)); code != 200 {
		t.Fatalf("another client's /healthz while one address holds its share: %d", code)
	}
	if v := g.value(t, metrics.ConnectionsRefused); v < total-float64(served) {
		t.Errorf("%s = %v, want at least %d", metrics.ConnectionsRefused, v, total-served)
	}
	if n := strings.Count(g.logs.String(), `"msg":"connection closed at once`); n != 1 {
		t.Errorf("%d log lines for %d refused connections, want the first one only (the rest summarized)", n, total-served)
	}
}

// TestProbeListenerAnswersWhileMainIsFull: every connection of the main
// listener is taken, each by another address, so no share protects it;
// /healthz and /readyz on the probe listener still answer, and nothing
// else is served there.
func TestProbeListenerAnswersWhileMainIsFull(t *testing.T) {
	g := startGate(t, func(o *gate.Options) {
		o.MaxConnections, o.MaxConnectionsPerAddress, o.ProbeListen = 4, 1, "127.0.0.1:0"
	})
	for i := range 4 {
		if code := healthzOn(t, dialFrom(t, "127.0.0.1"+string(rune('1'+i)), g.Addr().String())); code != 200 {
			t.Fatalf("main listener, client %d: %d", i+1, code)
		}
	}
	full := dialFrom(t, "127.0.0.19", g.Addr().String())
	full.Write([]byte("GET /healthz HTTP/1.1\r\nHost: gate\r\n\r\n"))
	full.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := http.ReadResponse(bufio.NewReader(full), nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the main listener was not full: a fifth client got %v", err)
	}
	probe := "http://" + g.ProbeAddr().String()
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(probe + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("probe listener %s: %d", p, resp.StatusCode)
		}
	}
	resp, err := http.Get(probe + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("probe listener serves /metrics: %d", resp.StatusCode)
	}
}
