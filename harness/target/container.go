package target

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/quannex/gameday/fixtures"
	"github.com/quannex/gameday/harness/certs"
	"github.com/quannex/gameday/harness/gateapi"
)

// Container is the gate in a container built from fixtures/gate/Dockerfile.
type Container struct {
	root, cache string
	audit       string // the audit directory on the host, mounted at /audit
	ctr         testcontainers.Container
	cli         *testcontainers.DockerClient
	url         string
	image       string
	imageID     string
	cpus        float64
	memory      int64            // the memory limit in bytes; 0: none
	disks       map[string]int64 // size-limited filesystems mounted (Options.Disks)
	logFile     string
	tls         *tls.Config // nil: plain HTTP
	tlsDir      string      // the run's TLS files on the host (certs.Files), with tls

	mu   sync.Mutex
	last cpuSample
}

// DisableRyuk turns off testcontainers' reaper, which needs a pulled image;
// the harness cleans up by label instead. With a local Docker engine it
// also pins the host testcontainers reports to localhost: when the harness
// itself runs inside a container, testcontainers would otherwise pick the
// bridge gateway, which the published port may not be reachable on. It
// must run before the first testcontainers call.
func DisableRyuk() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if h := os.Getenv("DOCKER_HOST"); os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && (h == "" || strings.HasPrefix(h, "unix://")) {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
}

// DockerAvailable reports whether a Docker engine answers.
func DockerAvailable(ctx context.Context) error {
	DisableRyuk()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = cli.Ping(ctx, client.PingOptions{})
	return err
}

// StartContainer builds the gate image from the two static binaries (FROM
// scratch: nothing is pulled) and runs it with the cache and audit
// directories mounted from the host.
func StartContainer(ctx context.Context, o Options) (*Container, error) {
	DisableRyuk()
	image, err := GateImage(ctx, o)
	if err != nil {
		return nil, err
	}
	return startContainer(ctx, o, image, placement{})
}

// placement is what a fleet adds to a single gate's container.
type placement struct {
	network string            // a user-defined network to join; "": Docker's default bridge
	alias   string            // the container's name on network
	labels  map[string]string // beside Label
}

// startContainer runs the built image with fresh cache and audit
// directories, placed as p says.
func startContainer(ctx context.Context, o Options, image string, p placement) (*Container, error) {
	root, cache, audit, err := dirs(o.Disks)
	if err != nil {
		return nil, err
	}
	c := &Container{root: root, cache: cache, audit: audit, cpus: o.CPUs, memory: o.Memory, disks: o.Disks, logFile: o.LogFile}
	// The host port is chosen here and kept across restarts; another
	// process may take it between the choice and the start: then again.
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			removeRoot(root)
			return nil, err
		}
		req, err := c.request(o, image, p, audit, port)
		if err != nil {
			removeRoot(root)
			return nil, err
		}
		c.ctr, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
		if err == nil {
			break
		}
		if try < 3 && strings.Contains(err.Error(), "port is already allocated") {
			if c.ctr != nil {
				c.ctr.Terminate(context.Background())
			}
			continue
		}
		c.Stop(context.Background())
		return nil, fmt.Errorf("start gate container: %w", err)
	}
	host, err := c.ctr.Host(ctx)
	if err != nil {
		c.Stop(context.Background())
		return nil, fmt.Errorf("gate container host: %w", err)
	}
	port, err := c.ctr.MappedPort(ctx, "3000/tcp")
	if err != nil {
		c.Stop(context.Background())
		return nil, fmt.Errorf("gate container port: %w", err)
	}
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	c.url = fmt.Sprintf("%s://%s:%s", scheme, host, port.Port())
	if ins, err := c.ctr.Inspect(ctx); err == nil {
		c.image, c.imageID = ins.Config.Image, ins.Image
	}
	c.cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		c.Stop(context.Background())
		return nil, err
	}
	c.last = c.sample(ctx)
	return c, nil
}

// request is the container to run: the gate's environment, the cache,
// audit and (with TLS) certificate mounts, the CPU limit, the placement,
// and the readiness wait on /readyz. With TLS it writes the run's
// throwaway material under c.root first.
func (c *Container) request(o Options, image string, p placement, audit string, hostPort int) (testcontainers.ContainerRequest, error) {
	env := map[string]string{"GATE_FAULT_INJECTION": "true"}
	for k, v := range o.Env {
		env[k] = v
	}
	wantReady := wait.ForHTTP("/readyz").WithPort("3000/tcp").WithStartupTimeout(60 * time.Second)
	if o.TLS {
		hosts := append(append([]string(nil), loopbackHosts...), dockerHosts()...)
		if p.alias != "" {
			hosts = append(hosts, p.alias) // a peer on the network reaches it by its alias
		}
		files, cfg, err := writeTLS(c.root, hosts, true)
		if err != nil {
			return testcontainers.ContainerRequest{}, err
		}
		c.tlsDir, c.tls = files.Dir, cfg
		env["GATE_WEB_CONFIG_FILE"] = "/tls/" + certs.WebConfigFile
		// The wait dials the mapped port on the Docker host, which the
		// certificate names (dockerHosts).
		wantReady = wantReady.WithTLS(true, cfg.Clone()) // its transport adds h2 to the config
	}
	labels := map[string]string{Label: "1", OwnerLabel: Owner()}
	for k, v := range p.labels {
		labels[k] = v
	}
	req := testcontainers.ContainerRequest{
		Image:        image,
		Env:          env,
		ExposedPorts: []string{"3000/tcp"},
		Labels:       labels,
		HostConfigModifier: func(hc *container.HostConfig) {
			// A gate that dies is restarted, as in production; on the same
			// host port, so that the load and the scrapes reach it again
			// (Docker would pick a new random one at the restart).
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 10}
			hc.PortBindings = network.PortMap{network.MustParsePort("3000/tcp"): {{HostPort: strconv.Itoa(hostPort)}}}
			hc.Binds = append(hc.Binds, c.cache+":/cache", audit+":/audit")
			if c.tlsDir != "" {
				hc.Binds = append(hc.Binds, c.tlsDir+":/tls:ro")
			}
			if o.CPUs > 0 {
				hc.NanoCPUs = int64(o.CPUs * 1e9)
			}
			if o.Memory > 0 {
				hc.Memory, hc.MemorySwap = o.Memory, o.Memory // no swap to escape to
			}
		},
		WaitingFor: wantReady,
	}
	if p.network != "" {
		req.Networks = []string{p.network}
		req.NetworkAliases = map[string][]string{p.network: {p.alias}}
	}
	return req, nil
}

// GateImage returns the gate image for o's binaries, building it when it
// is missing. The image is tagged with the digest of its inputs and reused
// while they do not change: building it is most of a run's overhead.
func GateImage(ctx context.Context, o Options) (string, error) {
	DisableRyuk()
	dir, err := os.MkdirTemp("", "gameday-image-*")
	if err != nil {
		return "", fmt.Errorf("gate image: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := buildContext(dir, o); err != nil {
		return "", err
	}
	tag, err := contextDigest(dir)
	if err != nil {
		return "", err
	}
	image := ImageRepo + ":" + tag
	if imageExists(ctx, image) {
		return image, nil
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("build gate image: %w", err)
	}
	defer p.Close()
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: ImageRepo, Tag: tag, KeepImage: true,
		BuildOptionsModifier: func(b *client.ImageBuildOptions) {
			b.Labels = map[string]string{Label: "1"}
			b.Remove, b.ForceRemove = true, true
		},
	}}
	if _, err := p.BuildImage(ctx, &req); err != nil {
		return "", fmt.Errorf("build gate image: %w", err)
	}
	return image, nil
}

// ImageRepo is the repository of the locally built gate images.
const ImageRepo = "quannex-gameday/gate"

// contextDigest hashes the build context (Dockerfile and binaries).
func contextDigest(dir string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"Dockerfile", "gate", "stressor"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("gate image: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func imageExists(ctx context.Context, ref string) bool {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return false
	}
	defer cli.Close()
	_, err = cli.ImageInspect(ctx, ref)
	return err == nil
}

func buildContext(dir string, o Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), fixtures.GateDockerfile, 0o644); err != nil {
		return err
	}
	for src, name := range map[string]string{o.GateBin: "gate", o.StressorBin: "stressor"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("gate image: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// dockerHosts are the names the harness may reach a published port by
// besides the loopback ones: testcontainers' host override and the host of
// a tcp:// DOCKER_HOST.
func dockerHosts() []string {
	var out []string
	if h := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); h != "" {
		out = append(out, h)
	}
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "tcp" && u.Hostname() != "" {
		out = append(out, u.Hostname())
	}
	return out
}

// TLSConfig is the client TLS config the gate is reached with, a copy per
// call (see Process.TLSConfig); nil: plain HTTP.
func (c *Container) TLSConfig() *tls.Config { return c.tls.Clone() }

// Kind is "container".
func (c *Container) Kind() string { return "container" }

// BaseURL is the gate's URL on the host.
func (c *Container) BaseURL() string { return c.url }

// CacheDir is the host directory mounted as the gate's cache.
func (c *Container) CacheDir() string { return c.cache }

// freePort is a TCP port free on this host now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("choose a host port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Kill sends SIGKILL to the gate from this host, as the OOM killer or a
// node would (the Docker API's kill is a stop its restart policy obeys),
// and waits for the restart policy to start it again and for it to be
// ready on the same address. It needs the Docker engine on this machine.
func (c *Container) Kill(ctx context.Context) (Crash, error) {
	id := c.ctr.GetContainerID()
	ins, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return Crash{}, fmt.Errorf("inspect the gate container: %w", err)
	}
	before, pid := ins.Container.RestartCount, ins.Container.State.Pid
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return Crash{}, fmt.Errorf("the gate container's process %d is not on this machine: kill needs the Docker engine here", pid)
	}
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev := c.cli.Events(evctx, client.EventsListOptions{Filters: client.Filters{}.Add("container", id).Add("event", "die")})
	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return Crash{}, fmt.Errorf("kill the gate: %w", err)
	}
	cr := Crash{ExitCode: -1, RestartsBefore: before}
	select {
	case m := <-ev.Messages:
		code, _ := strconv.Atoi(m.Actor.Attributes["exitCode"])
		if code == 128+int(syscall.SIGKILL) {
			cr.Signal = "killed"
		} else {
			cr.ExitCode = code
		}
	case err := <-ev.Err:
		return cr, fmt.Errorf("watch the gate container: %w", err)
	case <-time.After(30 * time.Second):
		return cr, errors.New("the gate container did not die within 30s of SIGKILL")
	}
	return c.awaitRestart(ctx, cr, start)
}

// awaitRestart waits for the restart policy to start the gate container
// again after it died, and for the gate to be ready; cr gets the restart
// count and the time down since start.
func (c *Container) awaitRestart(ctx context.Context, cr Crash, start time.Time) (Crash, error) {
	id := c.ctr.GetContainerID()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ins, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err == nil && ins.Container.RestartCount > cr.RestartsBefore && ins.Container.State.Running {
			cr.Restarts = ins.Container.RestartCount
			break
		}
		if time.Now().After(deadline) {
			return cr, errors.New("the restart policy did not start the gate container again within 60s")
		}
		select {
		case <-ctx.Done():
			return cr, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := waitReady(ctx, gateapi.HTTPClient(c.tls), c.url); err != nil {
		return cr, fmt.Errorf("the restarted gate: %w", err)
	}
	cr.Down = time.Since(start)
	return cr, nil
}

// OOMKill drives the gate's container past its memory limit, so that the
// kernel's OOM killer kills the gate, and waits until the restart policy
// has started it again and it is ready. The stressor, inside the
// container as the gate's user, allocates what the gate does not use plus
// a sixteenth of the limit; the gate is made the OOM killer's first choice
// in its cgroup (oom_score_adj 1000, from this host: it needs root), as it
// is when it runs there alone, the case this stands for. The stressor dies
// with the gate's PID namespace. The proof is the engine's own: an oom event for the
// container and its death by SIGKILL (exit 137); Signal is then
// "oom-killed".
func (c *Container) OOMKill(ctx context.Context) (Crash, error) {
	if c.memory <= 0 {
		return Crash{}, errors.New("the gate container has no memory limit to exceed (target.memory)")
	}
	id := c.ctr.GetContainerID()
	ins, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return Crash{}, fmt.Errorf("inspect the gate container: %w", err)
	}
	before, pid := ins.Container.RestartCount, ins.Container.State.Pid
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("1000"), 0); err != nil {
		return Crash{}, fmt.Errorf("make the gate the OOM killer's choice (it needs root and the Docker engine here): %w", err)
	}
	used, err := c.MemoryUsage(ctx)
	if err != nil {
		return Crash{}, err
	}
	n := c.memory - used + c.memory/16
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev := c.cli.Events(evctx, client.EventsListOptions{Filters: client.Filters{}.Add("container", id).Add("event", "oom").Add("event", "die")})
	go c.ctr.Exec(context.WithoutCancel(ctx), []string{"/stressor", "--alloc", strconv.FormatInt(n, 10), "--duration", "30s"}) // dies with the gate's PID namespace, or at its deadline
	cr := Crash{ExitCode: -1, RestartsBefore: before}
	oom := false
	timeout := time.After(30 * time.Second)
	for died := false; !died; {
		select {
		case m := <-ev.Messages:
			switch m.Action {
			case "oom":
				oom = true
			case "die":
				died, cr.At = true, time.Unix(0, m.TimeNano)
				code, _ := strconv.Atoi(m.Actor.Attributes["exitCode"])
				if code != 128+int(syscall.SIGKILL) {
					cr.ExitCode = code
				}
			}
		case err := <-ev.Err:
			return cr, fmt.Errorf("watch the gate container: %w", err)
		case <-timeout:
			return cr, fmt.Errorf("the gate container did not die within 30s of %d bytes allocated past its limit (oom event seen: %v)", n, oom)
		}
	}
	if !oom { // the engine may tell the oom after the death
		select {
		case m := <-ev.Messages:
			oom = m.Action == "oom"
		case <-time.After(2 * time.Second):
		}
	}
	switch {
	case oom && cr.ExitCode == -1:
		cr.Signal = "oom-killed"
	case cr.ExitCode == -1:
		cr.Signal = "killed"
	}
	return c.awaitRestart(ctx, cr, cr.At) // down from the death, not from the allocation
}

// MemoryLimit is the container's memory limit in bytes; 0: none.
func (c *Container) MemoryLimit() int64 { return c.memory }

// MemoryUsage is the container's memory in use, as docker stats counts it:
// the cgroup's usage less the file cache it could drop (inactive_file).
func (c *Container) MemoryUsage(ctx context.Context) (int64, error) {
	res, err := c.cli.ContainerStats(ctx, c.ctr.GetContainerID(), client.ContainerStatsOptions{Stream: false})
	if err != nil {
		return 0, fmt.Errorf("container stats: %w", err)
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return 0, fmt.Errorf("container stats: %w", err)
	}
	used := int64(st.MemoryStats.Usage)
	for _, k := range []string{"inactive_file", "total_inactive_file"} { // cgroup v2, v1
		if v, ok := st.MemoryStats.Stats[k]; ok && int64(v) < used {
			return used - int64(v), nil
		}
	}
	return used, nil
}

// Allocate runs the stressor inside the container to allocate and hold n
// bytes for d, as the gate's user, charged to the gate's memory cgroup.
func (c *Container) Allocate(ctx context.Context, n int64, d time.Duration) (Burn, error) {
	return c.exec([]string{"/stressor", "--alloc", strconv.FormatInt(n, 10), "--duration", d.String()}, d)
}

// AuditLog is the gate's audit log file on this host.
func (c *Container) AuditLog() string { return filepath.Join(c.audit, "audit.jsonl") }

// Describe returns the target's identity for the report.
func (c *Container) Describe() (image, imageID, id string, cpus float64) {
	return c.image, c.imageID, c.ctr.GetContainerID(), c.cpus
}

// Burn runs the stressor inside the container (its CPU domain: the
// container's cgroup and CPU limit) with `docker exec`. An exec that fails,
// or a stressor that exits within the first second, fails the burn.
func (c *Container) Burn(ctx context.Context, n int, d time.Duration) (Burn, error) {
	return c.exec([]string{"/stressor", "--cores", strconv.Itoa(n), "--duration", d.String()}, d)
}

// exec runs a stressor command in the container until its deadline d (or
// Stop); one that fails within startGrace fails the start.
func (c *Container) exec(cmd []string, d time.Duration) (Burn, error) {
	b := &ctrBurn{c: c, done: make(chan struct{})}
	go func() { // ends when the stressor exits: its deadline, or Stop
		defer close(b.done)
		code, _, err := c.ctr.Exec(context.Background(), cmd)
		if err == nil && code != 0 {
			err = fmt.Errorf("stressor exited %d", code)
		}
		b.err = err
	}()
	select {
	case <-b.done:
		if b.err != nil {
			return nil, fmt.Errorf("docker exec stressor: %w", b.err)
		}
		if d > startGrace {
			return nil, errors.New("docker exec stressor: exited at once")
		}
	case <-time.After(startGrace):
	}
	return b, nil
}

type ctrBurn struct {
	c    *Container
	done chan struct{}
	err  error // set before done closes
}

func (b *ctrBurn) Stop() error {
	select {
	case <-b.done:
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := b.c.ctr.Exec(ctx, []string{"/stressor", "--kill"}); err != nil {
		return fmt.Errorf("stop stressor: %w", err)
	}
	<-b.done
	return nil
}

// CPUCores returns the container's CPU use (gate plus anything exec'd in
// it), in cores, since the last call, from the Docker stats API.
func (c *Container) CPUCores(ctx context.Context) (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.sample(ctx)
	v := cores(c.last, now)
	c.last = now
	return v, nil
}

func (c *Container) sample(ctx context.Context) cpuSample {
	s, _ := c.stats(ctx)
	return s
}

// stats reads the container's cumulative cgroup CPU usage from the Docker
// stats API.
func (c *Container) stats(ctx context.Context) (cpuSample, error) {
	if c.cli == nil {
		return cpuSample{at: time.Now()}, errors.New("container stats: no Docker client")
	}
	res, err := c.cli.ContainerStats(ctx, c.ctr.GetContainerID(), client.ContainerStatsOptions{Stream: false})
	if err != nil {
		return cpuSample{at: time.Now()}, fmt.Errorf("container stats: %w", err)
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return cpuSample{at: time.Now()}, fmt.Errorf("container stats: %w", err)
	}
	return cpuSample{at: st.Read, cpu: time.Duration(st.CPUStats.CPUUsage.TotalUsage)}, nil
}

// CPUTime is the container's cumulative cgroup CPU usage (the gate and
// anything exec'd in it) at an instant, from the Docker stats API.
func (c *Container) CPUTime(ctx context.Context) (time.Time, time.Duration, error) {
	s, err := c.stats(ctx)
	return s.at, s.cpu, err
}

// AvailableCores is the container's CPU limit, or the host's cores.
func (c *Container) AvailableCores() float64 {
	if c.cpus > 0 {
		return min(c.cpus, hostCores())
	}
	return hostCores()
}

// ProbeWrite runs the stressor's write probe in /cache inside the
// container, as the image's user (the gate's).
func (c *Container) ProbeWrite(ctx context.Context) error {
	return c.stressorOnce(ctx, "write probe", "--probe-write", "/cache")
}

// DiskSize is the size of the filesystem mounted on the gate's cache or
// audit directory for the disk-full fault; 0: none was.
func (c *Container) DiskSize(which string) int64 { return c.disks[which] }

// DiskFree is the free and total bytes of the filesystem under the gate's
// cache or audit directory, read on the host.
func (c *Container) DiskFree(which string) (free, size int64, err error) {
	return diskFree(map[string]string{DiskCache: c.cache, DiskAudit: c.audit}[which])
}

// inContainer is the gate's cache or audit directory inside the container.
func inContainer(which string) string { return "/" + which }

// FillDisk runs the stressor inside the container, as the gate's user, to
// fill the filesystem under the gate's cache or audit directory and keep
// it full for d; it removes its file at its deadline.
func (c *Container) FillDisk(ctx context.Context, which string, d time.Duration) (Burn, error) {
	return c.exec([]string{"/stressor", "--fill", inContainer(which), "--fill-max", strconv.FormatInt(c.disks[which], 10), "--duration", d.String()}, d)
}

// UnfillDisk removes what a fill left in the directory (one killed before
// its deadline).
func (c *Container) UnfillDisk(ctx context.Context, which string) error {
	return c.stressorOnce(ctx, "unfill", "--unfill", inContainer(which))
}

// ProbeDisk runs the stressor's write probe in the gate's cache or audit
// directory inside the container, as the gate's user: nil written,
// ErrNoSpace when the filesystem was full.
func (c *Container) ProbeDisk(ctx context.Context, which string) error {
	return c.stressorOnce(ctx, "write probe", "--probe-write", inContainer(which))
}

// stressorOnce execs the stressor with args and reads its exit code as a
// probe's (probeExit).
func (c *Container) stressorOnce(ctx context.Context, what string, args ...string) error {
	code, r, err := c.ctr.Exec(ctx, append([]string{"/stressor"}, args...), tcexec.Multiplexed())
	if err != nil {
		return fmt.Errorf("docker exec %s: %w", what, err)
	}
	out, _ := io.ReadAll(io.LimitReader(r, 4096))
	return probeExit(code, string(out))
}

// Stop removes the container and the host directories. The image stays
// for the next run with the same binaries; `gameday cleanup` removes it.
func (c *Container) Stop(ctx context.Context) error {
	var err error
	if c.ctr != nil {
		if c.logFile != "" {
			if rc, lerr := c.ctr.Logs(ctx); lerr == nil {
				if f, ferr := os.Create(c.logFile); ferr == nil {
					io.Copy(f, rc)
					f.Close()
				}
				rc.Close()
			}
		}
		err = c.ctr.Terminate(ctx, testcontainers.RemoveVolumes())
	}
	if c.cli != nil {
		c.cli.Close()
	}
	os.Chmod(c.cache, 0o755)
	removeRoot(c.root)
	return err
}

// Cleanup removes every container, network and image labelled by the
// harness, in that order (a network in use cannot go), and returns what it
// removed, but the containers and networks of runs that still run on this
// machine (OwnerLabel), and the images their containers use: running is
// how many containers it left. A running GameDay's faults and targets are
// its own to revert and stop.
func Cleanup(ctx context.Context) (containers, networks, images, running int, err error) {
	DisableRyuk()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer cli.Close()
	f := client.Filters{}.Add("label", Label)
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	for _, ct := range list.Items {
		if OwnerAlive(ct.Labels[OwnerLabel]) {
			running++
			continue
		}
		if _, err := cli.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
			containers++
		}
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return containers, 0, 0, running, err
	}
	for _, n := range nets.Items {
		if OwnerAlive(n.Labels[OwnerLabel]) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err == nil {
			networks++
		}
	}
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil {
		return containers, networks, 0, running, err
	}
	// Not forced: an image a running GameDay's container uses stays.
	for _, im := range imgs.Items {
		if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{PruneChildren: true}); err == nil {
			images++
		}
	}
	return containers, networks, images, running, nil
}
