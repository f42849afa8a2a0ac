package serverproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary the server under test when set:
// "serve PORT" serves 200 OK on 127.0.0.1:PORT until killed, failing as
// Prometheus and Alertmanager (Go servers too) do when the port is taken;
// "exit" fails at once for another reason.
const helperEnv = "SERVERPROC_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helperMain(mode)
	}
	os.Exit(m.Run())
}

func helperMain(mode string) {
	port, ok := strings.CutPrefix(mode, "serve ")
	if !ok {
		fmt.Fprintln(os.Stderr, "helper: told to exit")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // listen tcp 127.0.0.1:PORT: bind: address already in use
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, http.Serve(ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	os.Exit(1)
}

func helper(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// spec runs the helper as a server, counting the ports it chooses.
func spec(t *testing.T, calls *int, choose func() (int, error)) Spec {
	t.Helper()
	return Spec{
		Name:    "helper",
		Command: func(port int) *exec.Cmd { return helper("serve " + strconv.Itoa(port)) },
		Log:     filepath.Join(t.TempDir(), "helper.log"),
		Ready:   HTTPReady(&http.Client{Timeout: 2 * time.Second}, "/-/ready"),
		Port:    func() (int, error) { *calls++; return choose() },
	}
}

// takenPort holds a loopback port for the test, as another process could
// between freePort's close and the server's bind; it answers 503, so that
// waitReady's probes of it fail at once.
func takenPort(t *testing.T) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// TestStartRetriesATakenPort: when the chosen port is bound by the time
// the server binds, Start tries again on a fresh one; after attempts
// taken ports it fails with the server's error; and a process that exits
// for another reason, or does not start, is not retried.
func TestStartRetriesATakenPort(t *testing.T) {
	taken := takenPort(t)
	calls := 0
	s := spec(t, &calls, func() (int, error) {
		if calls == 1 {
			return taken, nil
		}
		return freePort()
	})
	p, err := Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if calls != 2 || p.Port == taken {
		t.Fatalf("%d ports chosen, serving on %d (taken: %d)", calls, p.Port, taken)
	}
	if strings.Contains(p.Log(), "address already in use") {
		t.Errorf("the log was not truncated for the second try:\n%s", p.Log())
	}

	calls = 0
	s = spec(t, &calls, func() (int, error) { return taken, nil })
	if _, err := Start(t.Context(), s); err == nil || !strings.Contains(err.Error(), "helper exited before it was ready:\nlisten tcp") ||
		!strings.Contains(err.Error(), "address already in use") || calls != attempts {
		t.Fatalf("every port taken: %d ports chosen, error %v", calls, err)
	}

	calls = 0
	s = spec(t, &calls, freePort)
	s.Command = func(int) *exec.Cmd { return helper("exit") }
	if _, err := Start(t.Context(), s); err == nil || !strings.Contains(err.Error(), "helper: told to exit") || calls != 1 {
		t.Fatalf("a process that exits by itself: %d ports chosen, error %v", calls, err)
	}

	calls = 0
	s.Command = func(int) *exec.Cmd { return exec.Command("/nonexistent/server") }
	if _, err := Start(t.Context(), s); err == nil || !strings.HasPrefix(err.Error(), "start /nonexistent/server: ") || calls != 1 {
		t.Fatalf("a binary that does not start: %d ports chosen, error %v", calls, err)
	}
}

// TestStartNotReady: a server that never becomes ready is killed (its
// port is free again) when Start gives up, and not retried.
func TestStartNotReady(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	s := spec(t, &calls, func() (int, error) { return port, nil })
	s.Ready = func(context.Context, int) bool { return false }
	s.ReadyTimeout = 300 * time.Millisecond
	_, err = Start(t.Context(), s)
	if err == nil || !strings.HasPrefix(err.Error(), "helper not ready after 300ms:\n") || calls != 1 {
		t.Fatalf("%d ports chosen, error %v", calls, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("the server still holds its port after Start failed: %v", err)
	}
	ln.Close()
}

// TestStartEndsWithContext: the process is killed when its context ends;
// Stop after that, and twice, returns.
func TestStartEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	p, err := Start(ctx, spec(t, &calls, freePort))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the server still runs 10s after its context ended")
	}
	p.Stop()
	p.Stop()
}
