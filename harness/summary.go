package harness

import (
	"fmt"
	"time"

	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/reports"
)

// The report's load summary and live-ratio series, built from the load's
// records: the report holds what a reader needs, the records stay the
// harness's.

// SummariseLoad builds the client-side summary of a run from every load
// record: counts by status, error and source, latency quantiles, and the
// window of the fault (between faultStart and faultEnd, when set).
func summariseLoad(rs []load.Record, requestedRate float64, faultStart, faultEnd time.Time) reports.Load {
	all := load.Summarise(rs, time.Time{}, farFuture)
	l := reports.Load{Requests: all.Requests, RequestedRate: requestedRate, Codes: map[string]int{}, Errors: map[string]int{}, Sources: map[string]int{}}
	for c, n := range all.Codes {
		l.Codes[fmt.Sprint(c)] = n
	}
	for _, r := range rs {
		if r.Err != "" {
			l.Errors[shortErr(r.Err)]++
		}
		src := r.Source
		if src == "" {
			src = "none"
		}
		l.Sources[src]++
		if r.SHAFailed {
			l.LiveSHAFailed++
		}
		if r.Latency > reports.LatencySLO {
			l.Over200ms++
		}
		if r.Source == "snapshot" && !r.Warning {
			l.SnapshotNoWarn++
		}
	}
	if n := len(rs); n > 1 {
		if span := rs[n-1].At.Sub(rs[0].At).Seconds(); span > 0 {
			l.Rate = float64(n-1) / span
		}
	}
	l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs = millis(all.Quantile(0.5)), millis(all.Quantile(0.95)), millis(all.Quantile(0.99)), millis(all.Quantile(1))
	if !faultStart.IsZero() && faultEnd.After(faultStart) {
		d := load.Summarise(rs, faultStart, faultEnd)
		l.DuringFault = &reports.Window{Requests: d.Requests, LiveRatio: d.LiveRatio(), P95Ms: millis(d.Quantile(0.95)),
			Rate: float64(d.Requests) / faultEnd.Sub(faultStart).Seconds()}
	}
	return l
}

// LiveRatioSeries buckets the records by reports.BucketWidth: the live ratio, and
// the latency quantiles and status codes of each bucket.
func liveRatioSeries(rs []load.Record) []reports.RatioPoint {
	if len(rs) == 0 {
		return nil
	}
	var out []reports.RatioPoint
	last := rs[len(rs)-1].At
	for t := rs[0].At.Truncate(reports.BucketWidth); !t.After(last); t = t.Add(reports.BucketWidth) {
		w := load.Summarise(rs, t, t.Add(reports.BucketWidth))
		p := reports.RatioPoint{At: t.UTC(), Live: w.Live, Snapshot: w.Snapshot, Other: w.Other, Ratio: w.LiveRatio()}
		if w.Requests > 0 {
			p50, p95 := millis(w.Quantile(0.5)), millis(w.Quantile(0.95))
			p.P50Ms, p.P95Ms = &p50, &p95
			p.Codes = map[string]int{}
			for c, n := range w.Codes {
				if c == 0 { // vegeta's code for a request that got no response
					p.TransportErrors += n
					continue
				}
				p.Codes[fmt.Sprint(c)] = n
			}
		}
		out = append(out, p)
	}
	return out
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func shortErr(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}
