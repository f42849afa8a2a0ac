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
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/quannex/gameday/harness/certs"
	"github.com/quannex/gameday/harness/gateapi"
)

// Process is the gate as a child process of the harness. It restarts the
// gate itself after a crash (Kill), on the same address, with the same
// flags, variables, directories and log, as a process supervisor would.
type Process struct {
	root, cache string
	audit       string // the audit log's path
	bin         string
	args, env   []string
	cmd         *exec.Cmd
	url         string
	tls         *tls.Config // nil: plain HTTP
	tlsDir      string      // the run's TLS files (certs.Files), with tls
	stressor    string
	disks       map[string]int64 // size-limited filesystems mounted (Options.Disks)
	logw        io.Writer
	log         *os.File
	done        chan struct{} // closed when the current gate process has exited and been reaped
	restarts    int
	last        cpuSample
	mu          sync.Mutex
	burns       []*procBurn // every stressor started, for the domain's CPU
}

// StartProcess runs the gate binary on a loopback port. When the harness
// runs as root the gate runs as nobody. The child gets SIGTERM if the
// harness dies (Pdeathsig).
func StartProcess(ctx context.Context, o Options) (*Process, error) {
	root, cache, audit, err := dirs(o.Disks)
	if err != nil {
		return nil, err
	}
	p := &Process{root: root, cache: cache, audit: audit + "/audit.jsonl", bin: o.GateBin, stressor: o.StressorBin, disks: o.Disks, logw: io.Discard}
	p.args = []string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", cache,
		"--audit-log", p.audit, "--enable-fault-injection"}
	scheme := "http://"
	if o.TLS {
		files, cfg, err := writeTLS(root, loopbackHosts, false)
		if err != nil {
			removeRoot(root)
			return nil, err
		}
		p.tls, p.tlsDir, scheme = cfg, files.Dir, "https://"
		p.args = append(p.args, "--web.config.file", files.Path(certs.WebConfigFile))
	}
	p.env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range o.Env {
		p.env = append(p.env, k+"="+v)
	}
	if o.LogFile != "" {
		if f, err := os.Create(o.LogFile); err == nil {
			p.log, p.logw = f, f
		}
	}
	addr, err := p.spawn(ctx)
	if err != nil {
		if p.cmd != nil && p.cmd.Process != nil {
			p.Stop(ctx)
		} else {
			removeRoot(root)
		}
		return nil, err
	}
	p.url = scheme + addr
	// A restart listens where the first process did.
	for i, a := range p.args {
		if a == "127.0.0.1:0" {
			p.args[i] = addr
		}
	}
	p.last = p.sample()
	return p, nil
}

// spawn starts the gate process and waits until it serves and is ready;
// it returns the address it listens on.
func (p *Process) spawn(ctx context.Context) (string, error) {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.SysProcAttr = procAttr(syscall.SIGTERM, true)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start gate process: %w", err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	addr := make(chan string, 1)
	go func() { // copies the gate's log; ends when the gate exits
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(p.logw, sc.Text())
			var m struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Msg == "gate serving metrics" {
				select {
				case addr <- m.Addr:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	var a string
	select {
	case a = <-addr:
	case <-done:
		return "", errors.New("start gate process: it exited before serving (see the gate log)")
	case <-time.After(15 * time.Second):
		return "", errors.New("start gate process: not serving after 15s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	scheme := "http://"
	if p.tls != nil {
		scheme = "https://"
	}
	if err := waitReady(ctx, gateapi.HTTPClient(p.tls), scheme+a); err != nil {
		return "", err
	}
	return a, nil
}

// Crash is how a killed gate exited and came back.
type Crash struct {
	Signal   string // the signal that ended it, "killed" for SIGKILL
	ExitCode int    // -1 when a signal ended it
	// RestartsBefore and Restarts are the target's count of the gate's
	// restarts before the kill and once it was back.
	RestartsBefore, Restarts int
	Down                     time.Duration // from the kill to the restarted gate ready
	// At is when the gate died, where the target saw it later than the
	// kill was asked for (an OOM kill comes after the allocation); zero:
	// at the request.
	At time.Time
}

// Kill sends SIGKILL to the gate and restarts it, as a supervisor would:
// the same flags, variables and directories, on the same address. It
// returns how the gate exited and the restart count.
func (p *Process) Kill(ctx context.Context) (Crash, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	before := p.restarts
	p.mu.Unlock()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return Crash{}, fmt.Errorf("kill the gate: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return Crash{}, ctx.Err()
	}
	c := Crash{ExitCode: -1, RestartsBefore: before}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		c.Signal = ws.Signal().String()
	} else {
		c.ExitCode = cmd.ProcessState.ExitCode()
	}
	if _, err := p.spawn(ctx); err != nil {
		return c, fmt.Errorf("restart the gate: %w", err)
	}
	p.mu.Lock()
	p.restarts++
	c.Restarts = p.restarts
	p.last = p.sample()
	p.mu.Unlock()
	c.Down = time.Since(start)
	return c, nil
}

// AuditLog is the gate's audit log file on the host.
func (p *Process) AuditLog() string { return p.audit }

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
	p.mu.Lock()
	defer p.mu.Unlock()
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
	return p.stressorOnce(ctx, "write probe", "--probe-write", p.cache)
}

// stressorOnce runs the stressor with args as the gate's user and reads
// its exit code as a probe's (probeExit).
func (p *Process) stressorOnce(ctx context.Context, what string, args ...string) error {
	cmd := exec.CommandContext(ctx, p.stressor, args...)
	cmd.SysProcAttr = procAttr(syscall.SIGKILL, true)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return probeExit(exit.ExitCode(), string(out))
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// diskDir is the gate's cache or audit directory.
func (p *Process) diskDir(which string) string {
	return map[string]string{DiskCache: p.cache, DiskAudit: filepath.Dir(p.audit)}[which]
}

// DiskSize is the size of the filesystem mounted on the gate's cache or
// audit directory for the disk-full fault; 0: none was.
func (p *Process) DiskSize(which string) int64 { return p.disks[which] }

// DiskFree is the free and total bytes of the filesystem under the gate's
// cache or audit directory.
func (p *Process) DiskFree(which string) (free, size int64, err error) {
	return diskFree(p.diskDir(which))
}

// FillDisk runs the stressor as the gate's user to fill the filesystem
// under the gate's cache or audit directory and keep it full for d. It
// removes its file at its deadline, and on the SIGTERM it gets if the
// harness dies.
func (p *Process) FillDisk(ctx context.Context, which string, d time.Duration) (Burn, error) {
	cmd := exec.Command(p.stressor, "--fill", p.diskDir(which), "--fill-max", strconv.FormatInt(p.disks[which], 10), "--duration", d.String())
	cmd.SysProcAttr = procAttr(syscall.SIGTERM, true)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stressor: %w", err)
	}
	b := &procBurn{cmd: cmd, done: make(chan struct{})}
	go func() { b.err = cmd.Wait(); close(b.done) }() // ends at the stressor's deadline or on Stop
	select {
	case <-b.done:
		return nil, fmt.Errorf("stressor --fill exited at once: %v", b.err)
	case <-time.After(startGrace):
	}
	return b, nil
}

// UnfillDisk removes what a fill left in the directory (one killed before
// its deadline).
func (p *Process) UnfillDisk(ctx context.Context, which string) error {
	return p.stressorOnce(ctx, "unfill", "--unfill", p.diskDir(which))
}

// ProbeDisk runs the stressor's write probe in the gate's cache or audit
// directory as the gate's user: nil written, ErrNoSpace when the
// filesystem was full.
func (p *Process) ProbeDisk(ctx context.Context, which string) error {
	return p.stressorOnce(ctx, "write probe", "--probe-write", p.diskDir(which))
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
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	if p.log != nil {
		p.log.Close()
	}
	os.Chmod(p.cache, 0o755) // in case a fault left it read-only
	return removeRoot(p.root)
}
