package signaling

import "sort"

// Device types a measurement request may name (the home kit's devices).
var deviceTypes = map[string]bool{
	"thermometer": true, "blood-pressure": true, "pulse-oximeter": true,
	"scale": true, "glucose-meter": true, "heart-rate": true,
}

// PushVitals sends new readings of patientID to every visit the patient is in
// now, and keeps them as the room's newest values for those who join later.
// It returns how many rooms got them.
func (s *Server) PushVitals(patientID string, vs []Vital) int {
	if len(vs) == 0 {
		return 0
	}
	s.mu.Lock()
	var conns []*conn
	rooms := 0
	for _, r := range s.rooms {
		if !r.hasPatient(patientID) {
			continue
		}
		rooms++
		if r.vitals == nil {
			r.vitals = map[string]Vital{}
		}
		for _, v := range vs {
			k := v.Code + "|" + v.DeviceID + "|" + v.Source
			if old, ok := r.vitals[k]; !ok || !v.At.Before(old.At) {
				r.vitals[k] = v
			}
		}
		for _, m := range r.members {
			if m.conn != nil {
				conns = append(conns, m.conn)
			}
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.send(TypeVitals, "", Vitals{Vitals: vs})
	}
	return rooms
}

// hasPatient reports whether the patient patientID is a member of r.
func (r *room) hasPatient(patientID string) bool {
	for _, m := range r.members {
		if m.role == RolePatient && m.sub == patientID {
			return true
		}
	}
	return false
}

// vitalsLocked returns the room's newest values, oldest first.
func (r *room) vitalsLocked() []Vital {
	out := make([]Vital, 0, len(r.vitals))
	for _, v := range r.vitals {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// sendVitals gives a participant who just entered the call the room's newest
// values.
func (s *Server) sendVitals(c *conn, r *room) {
	s.mu.Lock()
	vs := r.vitalsLocked()
	s.mu.Unlock()
	if len(vs) > 0 {
		c.send(TypeVitals, "", Vitals{Vitals: vs})
	}
}

// requestMeasurement relays a clinician's request to the patients in the room.
func (s *Server) requestMeasurement(c *conn, claims *Claims, mb *member, id string, m *RequestMeasurement) {
	if claims.Role != RoleClinician {
		s.refuse(c, id, CodeForbidden, "only a clinician asks for a measurement")
		return
	}
	if m.DeviceType != "" && !deviceTypes[m.DeviceType] {
		s.refuse(c, id, CodeBadPayload, "deviceType: not a home-kit device type")
		return
	}
	s.mu.Lock()
	var conns []*conn
	for _, p := range mb.room.members {
		if p.role == RolePatient && p.conn != nil {
			conns = append(conns, p.conn)
		}
	}
	s.mu.Unlock()
	if len(conns) == 0 {
		s.refuse(c, id, CodeNotFound, "no patient in the call to ask")
		return
	}
	for _, pc := range conns {
		pc.send(TypeRequestMeasurement, "", RequestMeasurement{Code: m.Code, DeviceType: m.DeviceType})
	}
}
