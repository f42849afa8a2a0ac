package gate

import (
	"errors"
	"net/http"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/lease"
)

// The GameDay lease's endpoints (package lease holds the lease):
//
//	GET    /admin/lease   who holds it
//	POST   /admin/lease   {"holder": "...", "ttl": "10m"}: take it, or renew it as its holder
//	DELETE /admin/lease   {"holder": "..."}: give it back
//
// Another holder's lease is a 409 naming the holder; taking, renewing and
// giving it back are audited (gameday_lease).

func (s *Server) serveLease(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.lease.State(time.Now()))
}

func (s *Server) serveLeaseTake(w http.ResponseWriter, r *http.Request) {
	var req lease.Request
	if !decodeBody(w, r, &req) {
		return
	}
	var ttl time.Duration
	if err := parseDurations("ttl", req.TTL, &ttl); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	st, renewed, err := s.lease.Take(req.Holder, ttl, time.Now())
	if s.leaseRefused(w, err) {
		return
	}
	action := "taken"
	if renewed {
		action = "renewed"
	}
	s.log.Info("metrics gameday lease "+action, "holder", req.Holder, "expires", st.ExpiresAt, "token", callerName(r))
	if !s.adminAudited(w, r, audit.EventLease, map[string]string{"action": action, "holder": req.Holder, "expires": st.ExpiresAt.Format(time.RFC3339)}) {
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) serveLeaseRelease(w http.ResponseWriter, r *http.Request) {
	var req lease.Request
	if !decodeBody(w, r, &req) {
		return
	}
	released, err := s.lease.Release(req.Holder, time.Now())
	if s.leaseRefused(w, err) {
		return
	}
	if released {
		s.log.Info("metrics gameday lease released", "holder", req.Holder, "token", callerName(r))
		if !s.adminAudited(w, r, audit.EventLease, map[string]string{"action": "released", "holder": req.Holder}) {
			return
		}
	}
	writeJSON(w, http.StatusOK, lease.State{})
}

// leaseRefused answers a refused lease call: 409 naming the holder, or
// 400 naming the field.
func (s *Server) leaseRefused(w http.ResponseWriter, err error) bool {
	var held *lease.HeldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &held):
		st := held.State
		st.Error = held.Error()
		writeJSON(w, http.StatusConflict, st)
	default:
		writeError(w, http.StatusBadRequest, err.Error())
	}
	return true
}
