// Package serverproc runs a server binary as a child process on a free
// loopback port for the harness: it chooses the port, sends the process's
// output to a log file, kills the process when the context ends, waits
// until the server is ready, and starts it again on a fresh port when it
// exited because another process bound the chosen one first.
//
// It knows no server's command line, config or readiness check:
// harness/amserver and harness/promserver supply those in a Spec, and own
// the directory the process works in.
package serverproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Spec describes the server Start runs.
type Spec struct {
	// Name names the server in errors ("prometheus").
	Name string
	// Command builds the command that serves on 127.0.0.1:port. Start
	// sets its Stdout, Stderr and SysProcAttr.
	Command func(port int) *exec.Cmd
	// Log is the file the process writes to; each try truncates it.
	Log string
	// Ready reports whether the server on port is ready (HTTPReady).
	// Start asks every 100ms until ReadyTimeout has passed.
	Ready        func(ctx context.Context, port int) bool
	ReadyTimeout time.Duration // default 30s
	// Port chooses the port of each try; default a free loopback port.
	Port func() (int, error)
}

// Proc is a running server process.
type Proc struct {
	Port int // the loopback port it serves on

	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// attempts bounds Start's tries: a free port is free when the listener
// that found it closes, and another process can bind it before the
// server does.
const attempts = 3

// Start starts the server on a port chosen by s.Port and waits until it
// is ready. When the process exits before that because its port was
// taken ("address already in use" in its log), Start tries again on a
// fresh port, up to 3 times in all; on any other failure it kills the
// process and returns the error, which holds the log when the server
// exited or never became ready. The process is killed when Stop is
// called or ctx ends.
func Start(ctx context.Context, s Spec) (*Proc, error) {
	if s.Port == nil {
		s.Port = freePort
	}
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = 30 * time.Second
	}
	for attempt := 1; ; attempt++ {
		p, err := launch(ctx, s)
		if err == nil {
			return p, nil
		}
		if p == nil {
			return nil, err
		}
		taken := p.portTaken()
		p.Stop()
		if attempt == attempts || !taken {
			return nil, err
		}
	}
}

// launch starts the process on a freshly chosen port and waits until it
// is ready. It returns the process, if one started, with any error.
func launch(ctx context.Context, s Spec) (*Proc, error) {
	port, err := s.Port()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(s.Log)
	if err != nil {
		return nil, err
	}
	cmd := s.Command(port)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Args[0], err)
	}
	p := &Proc{Port: port, log: s.Log, cmd: cmd, done: make(chan struct{})}
	// Exits when the process does; Stop waits for it.
	go func() { cmd.Wait(); log.Close(); close(p.done) }()
	// Exits when ctx ends (killing the process) or the process exits.
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-p.done:
		}
	}()
	return p, p.waitReady(ctx, s)
}

// portTaken reports whether the process exited because its port was
// bound by the time it tried.
func (p *Proc) portTaken() bool {
	select {
	case <-p.done:
		return strings.Contains(p.Log(), "address already in use")
	default:
		return false
	}
}

func (p *Proc) waitReady(ctx context.Context, s Spec) error {
	deadline := time.Now().Add(s.ReadyTimeout)
	for {
		if s.Ready(ctx, p.Port) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready:\n%s", s.Name, p.Log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s:\n%s", s.Name, s.ReadyTimeout, p.Log())
		}
	}
}

// HTTPReady is a Spec.Ready that asks client for
// http://127.0.0.1:port/path and wants 200 OK.
func HTTPReady(client *http.Client, path string) func(ctx context.Context, port int) bool {
	return func(ctx context.Context, port int) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// Done is closed when the process has exited and its log is closed.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Log returns what the process wrote to its log.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Stop kills the process and waits for it. It is safe to call more than
// once.
func (p *Proc) Stop() {
	p.cmd.Process.Kill()
	<-p.done
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
