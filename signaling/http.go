package signaling

import (
	"encoding/json"
	"net/http"
)

// ServeRoom answers GET /api/v1/rooms/{id} with the live room's participants and
// their reported receive quality. Clinicians see names; admins (operations) see
// roles, states and quality only.
func (s *Server) ServeRoom(w http.ResponseWriter, r *http.Request, id string) {
	claims, err := s.keys.FromRequest(r)
	if err != nil {
		http.Error(w, http.StatusText(StatusFor(err)), StatusFor(err))
		return
	}
	if claims.Role != RoleClinician && claims.Role != RoleAdmin {
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
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
