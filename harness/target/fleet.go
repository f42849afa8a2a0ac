package target

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"golang.org/x/sync/errgroup"
)

// MaxReplicas is the largest fleet: what two shared cores carry.
const MaxReplicas = 20

// Labels a fleet puts on each replica's container besides Label, so that
// `docker ps` tells the replicas apart and a fleet finds its own.
const (
	ReplicaLabel = Label + ".replica" // the instance name, replica-N
	TrackLabel   = Label + ".track"   // canary or stable
	FleetLabel   = Label + ".fleet"   // the fleet's network name
)

// Tracks a replica is on.
const (
	TrackCanary = "canary"
	TrackStable = "stable"
)

// concurrency is how many replicas start or stop at once: enough to
// overlap Docker's latencies, few enough not to starve two cores of the
// gates' start-up.
const concurrency = 4

// FleetOptions configure a fleet of gate containers.
type FleetOptions struct {
	// Options are every replica's: the same binaries, environment and CPU
	// limit (per replica). LogFile gets -replica-N before its extension.
	// With TLS each replica has its own throwaway CA and certificate
	// (valid for its alias too), so Replica.TLSConfig differs per replica.
	Options
	Replicas int // 1..MaxReplicas
	Canary   int // the first Canary replicas are on track canary, the others stable
}

// Validate names the field that is out of range.
func (o FleetOptions) Validate() error {
	if o.Replicas < 1 || o.Replicas > MaxReplicas {
		return fmt.Errorf("target.replicas: %d is not within 1..%d", o.Replicas, MaxReplicas)
	}
	if o.Canary < 0 || o.Canary > o.Replicas {
		return fmt.Errorf("target.canary: %d is not within 0..%d (the replicas)", o.Canary, o.Replicas)
	}
	return nil
}

// Replica is one gate of a fleet.
type Replica struct {
	Name  string // replica-1 ... replica-N: its instance label and network alias
	Track string // TrackCanary or TrackStable
	*Container
}

// Fleet is N gate containers on one private Docker network, each with its
// own cache and audit directories and its port 3000 published on the host.
type Fleet struct {
	Replicas []*Replica
	Network  string // the network's name

	net  *testcontainers.DockerNetwork
	once sync.Once
	err  error
}

// StartFleet builds the gate image once, creates the fleet's network and
// starts the replicas, a few at a time, each ready on /readyz. On error
// everything it started is removed.
func StartFleet(ctx context.Context, o FleetOptions) (*Fleet, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	DisableRyuk()
	image, err := GateImage(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	nw, err := network.New(ctx, network.WithLabels(map[string]string{Label: "1", OwnerLabel: Owner()}))
	if err != nil {
		return nil, fmt.Errorf("fleet network: %w", err)
	}
	f := &Fleet{Network: nw.Name, net: nw}
	started := make([]*Replica, o.Replicas)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i := range o.Replicas {
		name := "replica-" + strconv.Itoa(i+1)
		track := TrackStable
		if i < o.Canary {
			track = TrackCanary
		}
		ro := o.Options
		ro.LogFile = replicaLog(o.LogFile, name)
		g.Go(func() error { // ends when the replica is ready or has failed
			if err := gctx.Err(); err != nil {
				return err // another replica failed: start no more
			}
			c, err := startContainer(gctx, ro, image, placement{network: nw.Name, alias: name,
				labels: map[string]string{ReplicaLabel: name, TrackLabel: track, FleetLabel: nw.Name}})
			if err != nil {
				return fmt.Errorf("fleet %s: %w", name, err)
			}
			started[i] = &Replica{Name: name, Track: track, Container: c}
			return nil
		})
	}
	err = g.Wait()
	f.Replicas = started
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		f.Stop(sctx)
		return nil, err
	}
	return f, nil
}

// replicaLog is a replica's log file: name before the extension of the
// fleet's; "" stays "".
func replicaLog(file, name string) string {
	if file == "" {
		return ""
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "-" + name + ext
}

// Replica returns the replica with the instance name, or nil.
func (f *Fleet) Replica(name string) *Replica {
	for _, r := range f.Replicas {
		if r != nil && r.Name == name {
			return r
		}
	}
	return nil
}

// Stop removes every replica (keeping its log when LogFile is set), then
// any container still labelled with the fleet, then the network; one
// failure does not stop the rest. It uses ctx for the Docker calls, so
// give it one that is not cancelled. Calls after the first return the
// first's result.
func (f *Fleet) Stop(ctx context.Context) error {
	f.once.Do(func() { f.err = f.stop(ctx) })
	return f.err
}

func (f *Fleet) stop(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	var g errgroup.Group
	g.SetLimit(concurrency * 2) // removal is cheaper than a start
	for _, r := range f.Replicas {
		if r == nil {
			continue
		}
		g.Go(func() error { // ends when the replica is removed or failed to be
			if err := r.Container.Stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("stop %s: %w", r.Name, err))
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	if f.net == nil {
		return errors.Join(errs...)
	}
	// A replica whose removal failed, or whose start failed after Docker
	// created it, would keep the network in use.
	if err := removeLabelled(ctx, FleetLabel+"="+f.Network); err != nil {
		errs = append(errs, err)
	}
	if err := f.net.Remove(ctx); err != nil {
		errs = append(errs, fmt.Errorf("remove fleet network: %w", err))
	}
	return errors.Join(errs...)
}

// removeLabelled force-removes every container with the label filter.
func removeLabelled(ctx context.Context, label string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("remove fleet containers: %w", err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", label)})
	if err != nil {
		return fmt.Errorf("remove fleet containers: %w", err)
	}
	var errs []error
	for _, ct := range list.Items {
		if _, err := cli.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove fleet container %s: %w", ct.ID[:12], err))
		}
	}
	return errors.Join(errs...)
}
