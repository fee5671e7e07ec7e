package signaling

import (
	"encoding/json"
	"net/http"
)

// ServeRoom answers GET /api/v1/rooms/{id} with the live room's participants and
// their reported receive quality. Clinicians see names, of their own
// appointments' rooms only; admins (operations) see roles, states and quality
// only.
func (s *Server) ServeRoom(w http.ResponseWriter, r *http.Request, id string) {
	claims, err := s.cfg.Authenticator.Authenticate(r)
	if err == nil && claims.Role != RoleClinician && claims.Role != RoleAdmin {
		err = ErrForbidden
	}
	if err == nil {
		err = s.checkPractitioner(r.Context(), id, claims)
	}
	if err != nil {
		http.Error(w, http.StatusText(StatusFor(err)), StatusFor(err))
		return
	}
	st, ok := s.Room(id, claims.Role == RoleClinician)
	if !ok {
		http.Error(w, "no such live room", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

// ServeAdmit answers POST /api/v1/appointments/{id}/admit: the appointment's
// clinician lets everyone in its waiting room into the call.
func (s *Server) ServeAdmit(w http.ResponseWriter, r *http.Request, appt string) {
	claims, err := s.cfg.Authenticator.Authenticate(r)
	if err != nil {
		problem(w, StatusFor(err), "sign in first")
		return
	}
	n, err := s.Admit(r.Context(), appt, claims)
	if err != nil {
		problem(w, StatusFor(err), err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"admitted": n})
}

// ServeEnd answers POST /api/v1/appointments/{id}/end: the appointment's
// clinician ends the visit for everyone.
func (s *Server) ServeEnd(w http.ResponseWriter, r *http.Request, appt string) {
	claims, err := s.cfg.Authenticator.Authenticate(r)
	if err != nil {
		problem(w, StatusFor(err), "sign in first")
		return
	}
	if err := s.End(r.Context(), appt, claims); err != nil {
		problem(w, StatusFor(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// problem writes an RFC 9457 problem details response.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
	})
}
