package integrity

import (
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// Regression is a counter that went backwards between two payloads.
type Regression struct {
	Series string // name{labels}
	Before float64
	After  float64
}

// Counters remembers every counter (and histogram/summary count) of the
// last payload it saw, and reports the ones that decreased in the next.
// Within one process a counter never decreases, so a decrease means the
// payload did not come from an honest, monotonic source.
type Counters struct {
	mu   sync.Mutex
	prev map[string]float64
	next map[string]float64
}

// NewCounters returns an empty tracker: the first payload sets the baseline.
func NewCounters() *Counters {
	return &Counters{prev: map[string]float64{}, next: map[string]float64{}}
}

// Observe records mfs as the newest payload and returns the regressions
// against the previous one.
func (c *Counters) Observe(mfs []*dto.MetricFamily) []Regression {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Regression
	var sb strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				v = float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_SUMMARY:
				v = float64(m.GetSummary().GetSampleCount())
			default:
				continue
			}
			sb.Reset()
			seriesKey(&sb, mf.GetName(), m.GetLabel())
			key := sb.String()
			if before, ok := c.prev[key]; ok && v < before {
				out = append(out, Regression{Series: key, Before: before, After: v})
			}
			c.next[key] = v
		}
	}
	c.prev, c.next = c.next, c.prev
	clear(c.next)
	return out
}

func seriesKey(sb *strings.Builder, name string, labels []*dto.LabelPair) {
	sb.WriteString(name)
	if len(labels) == 0 {
		return
	}
	sb.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(l.GetName())
		sb.WriteString(`="`)
		sb.WriteString(l.GetValue())
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
}
