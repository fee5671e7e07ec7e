package signaling

import (
	"context"
	"sort"
	"time"
)

// Device types a measurement request may name (the home kit's devices).
var deviceTypes = map[string]bool{
	"thermometer": true, "blood-pressure": true, "pulse-oximeter": true,
	"scale": true, "glucose-meter": true, "heart-rate": true,
}

// VitalsAudit records that a participant was shown a patient's home
// readings live: once per participant and patient, before the first values
// go out. A patient shown their own readings is not recorded. When the
// record cannot be written the values are not sent to that participant
// (the next values try again): there is no disclosure without its record.
type VitalsAudit interface {
	VitalsShown(ctx context.Context, viewerID, viewerRole, room, patientID string) error
}

// PushVitals sends new readings of patientID to every visit the patient is in
// now, and keeps them as the room's newest values for those who join later.
// It returns how many rooms got them.
func (s *Server) PushVitals(patientID string, vs []Vital) int {
	if len(vs) == 0 {
		return 0
	}
	s.mu.Lock()
	var to []*member
	rooms := 0
	for _, r := range s.rooms {
		if !r.hasPatient(patientID) {
			continue
		}
		rooms++
		if r.vitals == nil || r.vitalsPatient != patientID {
			r.vitals = map[string]Vital{}
			r.vitalsPatient = patientID
		}
		for _, v := range vs {
			k := v.Code + "|" + v.DeviceID + "|" + v.Source
			if old, ok := r.vitals[k]; !ok || !v.At.Before(old.At) {
				r.vitals[k] = v
			}
		}
		for _, m := range r.members {
			// In the waiting room only the patient sees their own values.
			if m.conn != nil && (!m.waiting || m.role == RolePatient && m.sub == patientID) {
				to = append(to, m)
			}
		}
	}
	s.mu.Unlock()
	for _, m := range to {
		s.showVitals(m, patientID, vs)
	}
	return rooms
}

// showVitals sends vs, readings of patientID, to m once its being shown them
// is on record.
func (s *Server) showVitals(m *member, patientID string, vs []Vital) {
	// One record per participant and patient, even when a push and the
	// values sent on joining race: the check and the record go together.
	m.showMu.Lock()
	defer m.showMu.Unlock()
	s.mu.Lock()
	c := m.conn
	record := s.cfg.VitalsAudit != nil && !m.shown[patientID] && !(m.role == RolePatient && m.sub == patientID)
	room := ""
	if m.room != nil {
		room = m.room.id
	}
	s.mu.Unlock()
	if c == nil {
		return
	}
	if record {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		err := s.cfg.VitalsAudit.VitalsShown(ctx, m.sub, m.role, room, patientID)
		cancel()
		if err != nil {
			s.log.Error("live readings not sent: cannot record who is shown them", "room", room, "participant", m.id, "err", err)
			return
		}
		s.mu.Lock()
		if m.shown == nil {
			m.shown = map[string]bool{}
		}
		m.shown[patientID] = true
		s.mu.Unlock()
	}
	c.send(TypeVitals, "", Vitals{Vitals: vs})
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
	patientID := r.vitalsPatient
	var mb *member
	for _, m := range r.members {
		if m.conn == c {
			mb = m
		}
	}
	s.mu.Unlock()
	if len(vs) > 0 && mb != nil {
		s.showVitals(mb, patientID, vs)
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
