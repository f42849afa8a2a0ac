package harness

import (
	"context"
	"fmt"

	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// single is one gate the harness starts, as a container or a child
// process; every fault hits it.
type single struct {
	kind string // TargetContainer or TargetProcess
	opts target.Options
	one  *instance
	tok  tokens
}

func newSingle(kind string, opts target.Options, tok tokens) *single {
	return &single{kind: kind, opts: opts, tok: tok}
}

// startedGate is a gate the harness started: a host it stops again.
type startedGate interface {
	host
	BaseURL() string
	Stop(ctx context.Context) error
}

func (s *single) start(ctx context.Context, life *lifecycle) ([]*instance, error) {
	var (
		g   startedGate
		err error
	)
	switch s.kind {
	case TargetContainer:
		g, err = target.StartContainer(ctx, s.opts)
	case TargetProcess:
		g, err = target.StartProcess(ctx, s.opts)
	default:
		err = fmt.Errorf("unknown target %q", s.kind)
	}
	if err != nil {
		return nil, err
	}
	life.push("the target", g.Stop)
	s.one = newInstance("", "", g, g.BaseURL(), s.tok)
	return []*instance{s.one}, nil
}

func (s *single) hits(int) []*instance { return []*instance{s.one} }

func (s *single) describe(rep *reports.Report) {
	if s.one == nil { // it did not start
		return
	}
	img, imgID, id, cpus := s.one.host.Describe()
	rep.Target = reports.Target{Kind: s.one.host.Kind(), Image: img, ImageID: imgID, Container: id, CPULimit: cpus,
		URL: s.one.url, Build: map[string]string{}}
}
