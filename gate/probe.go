package gate

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quannex/gameday/gate/connlimit"
)

// Connection limits of the probe listener: enough for a kubelet (one
// connection per probe) and an operator's curl, and still bounded.
const (
	probeMaxConnections           = 64
	probeMaxConnectionsPerAddress = 16
)

// listenProbes binds ProbeListen: /healthz and /readyz only, plain HTTP,
// with connection limits of its own. Health then stays answerable while
// the main listener is full (its connections taken, whoever holds them)
// or demands client certificates a kubelet does not have.
func (s *Server) listenProbes() error {
	ln, err := net.Listen("tcp", s.opts.ProbeListen)
	if err != nil {
		return fmt.Errorf("probe listener: listen on %s: %w", s.opts.ProbeListen, err)
	}
	s.probeLn = connlimit.Listen(ln, connlimit.Options{Total: probeMaxConnections, PerAddress: probeMaxConnectionsPerAddress,
		OnRefuse: s.connectionRefused})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found; the probe listener serves /healthz and /readyz")
	})
	s.probeHTTP = &http.Server{
		Handler:           s.recoverer(mux),
		ReadHeaderTimeout: 2 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    4 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return nil
}

// ProbeAddr is the probe listener's address, nil without ProbeListen.
func (s *Server) ProbeAddr() net.Addr {
	if s.probeLn == nil {
		return nil
	}
	return s.probeLn.Addr()
}

func (s *Server) probeAddr() string {
	if a := s.ProbeAddr(); a != nil {
		return a.String()
	}
	return ""
}

// closeListeners closes what New bound, when New fails after binding.
func (s *Server) closeListeners() {
	s.ln.Close()
	if s.probeLn != nil {
		s.probeLn.Close()
	}
}
