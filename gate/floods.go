package gate

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/connlimit"
	"github.com/quannex/gameday/gate/tally"
)

// What anyone on the network can make the gate do many times a second —
// fail to authenticate, open connections past its address's share, fail a
// TLS handshake — is counted in full (quannex_auth_failures_total,
// quannex_connections_refused_total, quannex_tls_handshake_errors_total)
// but reported in bounded form (package tally): per FloodReportInterval,
// the first event of each kind of flood is logged (and, for
// authentication, audited) with its details, and the rest make one summary
// line (and one audit entry) with counts by reason and the busiest
// addresses. So a flood from any number of addresses writes at most two
// log lines and two audit entries of each kind per interval.

// FloodReportInterval is the interval of those reports.
const FloodReportInterval = time.Minute

// floods are the tallies of the three kinds of flood.
type floods struct {
	auth, conns, handshakes *tally.Tally
}

func (s *Server) newFloods() floods {
	return floods{
		auth:       tally.New(tally.Options{Interval: FloodReportInterval, Summarize: s.authSummary}),
		conns:      tally.New(tally.Options{Interval: FloodReportInterval, Summarize: s.connSummary}),
		handshakes: tally.New(tally.Options{Interval: FloodReportInterval, Summarize: s.handshakeSummary}),
	}
}

// close reports what the tallies hold; Shutdown calls it before the audit
// log closes.
func (f floods) close() {
	f.auth.Close()
	f.conns.Close()
	f.handshakes.Close()
}

// outcomeIPLimited is a failed authentication answered 429 because its
// address used up its failure budget.
const outcomeIPLimited = "ip_limited"

// authFailureReported logs and audits one failed authentication, if it is
// among those reported one by one; the others go into the interval's
// summary.
func (s *Server) authFailureReported(ip, reason, route string, limited bool) {
	kind := reason
	if limited {
		kind = outcomeIPLimited
	}
	if !s.floods.auth.Add(kind, ip) {
		return
	}
	if limited {
		s.log.Warn("metrics auth failures from one client over the limit; answering 429", "client_ip", ip, "reason", reason)
		s.audit.Record(audit.EventAuth, map[string]string{"outcome": outcomeIPLimited, "client_ip": ip, "reason": reason, "path": route})
		return
	}
	s.log.Warn("metrics auth failed", "client_ip", ip, "reason", reason, "path", route)
	s.audit.Record(audit.EventAuth, map[string]string{"outcome": "denied", "client_ip": ip, "reason": reason, "path": route})
}

// authSummary logs and audits an interval's failed authentications beyond
// the first: outcome failures_summary, with counts by reason (ip_limited:
// answered 429), the number of addresses and the busiest ones.
func (s *Server) authSummary(sum tally.Summary) {
	f := summaryFields(sum)
	s.log.Warn("metrics auth failed: more failures, summarized",
		"failures", sum.Total, "by_reason", f["by_reason"], "addresses", f["addresses"], "top_addresses", f["top_addresses"],
		"from", f["from"], "to", f["to"])
	f["outcome"] = "failures_summary"
	s.audit.Record(audit.EventAuth, f)
}

// summaryFields renders a summary as audit fields (and log values).
func summaryFields(sum tally.Summary) map[string]string {
	kinds := make([]string, 0, len(sum.ByKind))
	for k, n := range sum.ByKind {
		kinds = append(kinds, k+"="+strconv.FormatUint(n, 10))
	}
	sort.Strings(kinds)
	top := make([]string, len(sum.Top))
	for i, t := range sum.Top {
		top[i] = t.Source + "=" + strconv.FormatUint(t.Count, 10)
	}
	addresses := strconv.Itoa(sum.Sources)
	if sum.SourcesCapped {
		addresses += "+"
	}
	return map[string]string{
		"failures": strconv.FormatUint(sum.Total, 10), "by_reason": strings.Join(kinds, ","),
		"addresses": addresses, "top_addresses": strings.Join(top, ","),
		"from": sum.Start.UTC().Format(time.RFC3339), "to": sum.End.UTC().Format(time.RFC3339),
	}
}

// connectionRefused counts, and reports in bounded form, a connection
// closed at accept because its source address held its share.
func (s *Server) connectionRefused(key string) {
	s.m.ConnectionsRefused.Inc()
	if s.floods.conns.Add("per_address", key) {
		s.log.Warn("connection closed at once: its source address holds its share of the connections (--max-connections-per-address)",
			"client", key, "share", s.opts.MaxConnectionsPerAddress)
	}
}

func (s *Server) connSummary(sum tally.Summary) {
	f := summaryFields(sum)
	s.log.Warn("connections closed at once: more, summarized", "connections", sum.Total,
		"addresses", f["addresses"], "top_addresses", f["top_addresses"], "from", f["from"], "to", f["to"])
}

// serverErrorLog is the http.Server's ErrorLog: TLS handshake failures
// (one line per failed connection in net/http) are counted and reported in
// bounded form; anything else is logged at warning level as it comes.
type serverErrorLog struct{ s *Server }

const handshakeErrorPrefix = "http: TLS handshake error from "

func (l serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	rest, ok := strings.CutPrefix(msg, handshakeErrorPrefix)
	if !ok {
		l.s.log.Warn(msg)
		return len(p), nil
	}
	l.s.m.TLSHandshakeErrors.Inc()
	addr, detail, _ := strings.Cut(rest, ": ")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if l.s.floods.handshakes.Add(handshakeKind(detail), connlimit.Key(addr)) {
		l.s.log.Warn("TLS handshake failed", "client_ip", host, "error", truncate(detail, 200))
	}
	return len(p), nil
}

// handshakeKind groups handshake errors for a summary: the TLS alert or
// reason, without the addresses some errors carry.
func handshakeKind(detail string) string {
	switch {
	case strings.Contains(detail, "i/o timeout"):
		return "timeout"
	case detail == "EOF" || strings.HasSuffix(detail, ": EOF"):
		return "eof"
	case strings.Contains(detail, "connection reset"):
		return "reset"
	}
	if i := strings.Index(detail, "tls: "); i >= 0 {
		return truncate(detail[i:], 60)
	}
	return "other"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *Server) handshakeSummary(sum tally.Summary) {
	f := summaryFields(sum)
	s.log.Warn("TLS handshakes failed: more, summarized", "handshakes", sum.Total, "by_error", f["by_reason"],
		"addresses", f["addresses"], "top_addresses", f["top_addresses"], "from", f["from"], "to", f["to"])
}
