package gate_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
)

// TestMaxConnections: with a cap of two, a third connection is not served
// while the first two stay open (idle keep-alive connections count), and is
// served as soon as one of them closes.
func TestMaxConnections(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.MaxConnections = 2 })
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
