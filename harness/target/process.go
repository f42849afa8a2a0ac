package target

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/quannex/gameday/harness/certs"
	"github.com/quannex/gameday/harness/gateapi"
)

// Process is the gate as a child process of the harness.
type Process struct {
	root, cache string
	cmd         *exec.Cmd
	url         string
	tls         *tls.Config // nil: plain HTTP
	tlsDir      string      // the run's TLS files (certs.Files), with tls
	stressor    string
	log         *os.File
	done        chan struct{}
	last        cpuSample
	mu          sync.Mutex
	burns       []*procBurn // every stressor started, for the domain's CPU
}

// StartProcess runs the gate binary on a loopback port. When the harness
// runs as root the gate runs as nobody. The child gets SIGTERM if the
// harness dies (Pdeathsig).
func StartProcess(ctx context.Context, o Options) (*Process, error) {
	root, cache, audit, err := dirs()
	if err != nil {
		return nil, err
	}
	p := &Process{root: root, cache: cache, stressor: o.StressorBin, done: make(chan struct{})}
	args := []string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", cache,
		"--audit-log", audit + "/audit.jsonl", "--enable-fault-injection"}
	scheme := "http://"
	if o.TLS {
		files, cfg, err := writeTLS(root, loopbackHosts, false)
		if err != nil {
			os.RemoveAll(root)
			return nil, err
		}
		p.tls, p.tlsDir, scheme = cfg, files.Dir, "https://"
		args = append(args, "--web.config.file", files.Path(certs.WebConfigFile))
	}
	p.cmd = exec.Command(o.GateBin, args...)
	p.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range o.Env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.SysProcAttr = procAttr(syscall.SIGTERM, true)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var logw io.Writer = io.Discard
	if o.LogFile != "" {
		if f, err := os.Create(o.LogFile); err == nil {
			p.log, logw = f, f
		}
	}
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("start gate process: %w", err)
	}
	addr := make(chan string, 1)
	go func() { // copies the gate's log; ends when the gate exits
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(logw, sc.Text())
			var m struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Msg == "gate serving metrics" {
				select {
				case addr <- m.Addr:
				default:
				}
			}
		}
		p.cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.url = scheme + a
	case <-p.done:
		p.Stop(ctx)
		return nil, errors.New("start gate process: it exited before serving (see the gate log)")
	case <-time.After(15 * time.Second):
		p.Stop(ctx)
		return nil, errors.New("start gate process: not serving after 15s")
	case <-ctx.Done():
		p.Stop(context.Background())
		return nil, ctx.Err()
	}
	if err := waitReady(ctx, gateapi.HTTPClient(p.tls), p.url); err != nil {
		p.Stop(ctx)
		return nil, err
	}
	p.last = p.sample()
	return p, nil
}

func waitReady(ctx context.Context, c *http.Client, base string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gate at %s not ready after 15s", base)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TLSConfig is the client TLS config the gate is reached with, a copy per
// call (an http.Transport adds its ALPN protocols to the config it is
// given, so transports must not share one); nil: plain HTTP.
func (p *Process) TLSConfig() *tls.Config { return p.tls.Clone() }

// Kind is "process".
func (p *Process) Kind() string { return "process" }

// BaseURL is the gate's URL.
func (p *Process) BaseURL() string { return p.url }

// CacheDir is the gate's cache directory.
func (p *Process) CacheDir() string { return p.cache }

// Describe returns the target's identity for the report.
func (p *Process) Describe() (image, imageID, id string, cpus float64) {
	return "", "", strconv.Itoa(p.cmd.Process.Pid), 0
}

// Burn runs the stressor as a child process for d; it exits by itself at
// its deadline and is killed if the harness dies. A stressor that exits
// within the first second (a bad binary, bad flags) fails the burn.
func (p *Process) Burn(ctx context.Context, n int, d time.Duration) (Burn, error) {
	cmd := exec.Command(p.stressor, "--cores", strconv.Itoa(n), "--duration", d.String())
	cmd.SysProcAttr = procAttr(syscall.SIGKILL, false)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stressor: %w", err)
	}
	b := &procBurn{cmd: cmd, done: make(chan struct{})}
	go func() { b.err = cmd.Wait(); close(b.done) }() // ends at the stressor's deadline or on Stop
	p.mu.Lock()
	p.burns = append(p.burns, b)
	p.mu.Unlock()
	select {
	case <-b.done:
		if d > startGrace {
			return nil, fmt.Errorf("stressor exited at once: %v", b.err)
		}
	case <-time.After(startGrace):
	}
	return b, nil
}

type procBurn struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

func (b *procBurn) Stop() error {
	select {
	case <-b.done:
		return nil
	default:
	}
	b.cmd.Process.Kill()
	<-b.done
	return nil
}

// cpu is the stressor's CPU time so far: from /proc while it runs, from
// its rusage once it has exited and been reaped.
func (b *procBurn) cpu() time.Duration {
	select {
	case <-b.done:
		if st := b.cmd.ProcessState; st != nil {
			return st.UserTime() + st.SystemTime()
		}
		return 0
	default:
		return procCPU(int32(b.cmd.Process.Pid))
	}
}

// CPUCores returns the CPU use of the gate's CPU domain (the gate and
// every stressor started in it), in cores, since the last call.
func (p *Process) CPUCores(ctx context.Context) (float64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.sample()
	c := cores(p.last, now)
	p.last = now
	return c, nil
}

// CPUTime is the cumulative CPU time of the gate's domain (the gate and
// every stressor started in it) at an instant.
func (p *Process) CPUTime(ctx context.Context) (time.Time, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sample()
	return s.at, s.cpu, nil
}

// sample must be called with p.mu held.
func (p *Process) sample() cpuSample {
	cpu := procCPU(int32(p.cmd.Process.Pid))
	for _, b := range p.burns {
		cpu += b.cpu()
	}
	return cpuSample{at: time.Now(), cpu: cpu}
}

// AvailableCores is the host's cores: a process target has no CPU limit.
func (p *Process) AvailableCores() float64 { return hostCores() }

// ProbeWrite runs the stressor's write probe in the cache directory as the
// gate's user (nobody when the harness is root).
func (p *Process) ProbeWrite(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, p.stressor, "--probe-write", p.cache)
	cmd.SysProcAttr = procAttr(syscall.SIGKILL, true)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return probeExit(exit.ExitCode(), string(out))
	case err != nil:
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// procCPU is a process's user+system CPU time, from gopsutil.
func procCPU(pid int32) time.Duration {
	pr, err := process.NewProcess(pid)
	if err != nil {
		return 0
	}
	t, err := pr.Times()
	if err != nil {
		return 0
	}
	return time.Duration((t.User + t.System) * float64(time.Second))
}

// Stop terminates the gate (SIGTERM, then SIGKILL after 10s) and removes
// its directories.
func (p *Process) Stop(ctx context.Context) error {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	if p.log != nil {
		p.log.Close()
	}
	os.Chmod(p.cache, 0o755) // in case a fault left it read-only
	return os.RemoveAll(p.root)
}
