package target

import "github.com/quannex/gameday/harness/certs"

// TLSFiles returns the run's TLS material when the gate serves TLS: the
// CA, the gate's and the client's certificates and keys, as files an
// observer such as a real Prometheus can point its tls_config at. They are
// removed at Stop.
func (p *Process) TLSFiles() (certs.Files, bool) {
	return certs.Files{Dir: p.tlsDir}, p.tls != nil
}

// TLSFiles is Process.TLSFiles: the files on the host (the container
// mounts them at /tls).
func (c *Container) TLSFiles() (certs.Files, bool) {
	return certs.Files{Dir: c.tlsDir}, c.tls != nil
}
