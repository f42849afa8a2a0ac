package kubetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// CAdvisor is a TEST-ONLY STAND-IN for the kubelet's cAdvisor, which
// cannot run here (no kubelet): an exporter of the one series the
// harness reads of it, container_cpu_usage_seconds_total{namespace, pod,
// container}, "cumulative cpu time consumed in seconds" as cAdvisor's
// metrics/prometheus.go names and describes it, for one pod's container.
// The value is the real cumulative CPU time of the gate that stands for
// the pod (its container's cgroup, or the process tree), read at each
// scrape: what cAdvisor reads of a container's cgroup.
type CAdvisor struct {
	Addr string // host:port to scrape
	srv  *http.Server
}

// StartCAdvisor serves the pod's series on a loopback port; cpu reads the
// cumulative CPU time of the gate standing for it.
func StartCAdvisor(namespace, pod, container string, cpu func(context.Context) (time.Time, time.Duration, error)) (*CAdvisor, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		_, used, err := cpu(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.\n"+
			"# TYPE container_cpu_usage_seconds_total counter\n"+
			"container_cpu_usage_seconds_total{container=%q,namespace=%q,pod=%q} %g\n", container, namespace, pod, used.Seconds())
	})
	c := &CAdvisor{Addr: l.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go c.srv.Serve(l)
	return c, nil
}

// Stop stops serving.
func (c *CAdvisor) Stop() { c.srv.Close() }
