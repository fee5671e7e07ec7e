package signaling

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// visitTimeout bounds one call to Visits.
const visitTimeout = 5 * time.Second

// checkWindow refuses an appointment-bound token outside its appointment's
// window: the server decides at every use, from the appointment as it is now.
func (s *Server) checkWindow(ctx context.Context, appt string) error {
	if s.cfg.Visits == nil {
		return fmt.Errorf("%w: this clinic has no appointments", ErrForbidden)
	}
	ctx, cancel := context.WithTimeout(ctx, visitTimeout)
	defer cancel()
	w, err := s.cfg.Visits.Window(ctx, appt, time.Now())
	if errors.Is(err, ErrNoVisit) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	if err != nil {
		return fmt.Errorf("appointment %s: %w", appt, err)
	}
	if w.State != WindowOpen {
		return fmt.Errorf("%w: the link is %s", ErrForbidden, w.State)
	}
	return nil
}

// checkPractitioner refuses a clinician the room of another clinician's
// appointment: a clinician joins, admits and ends only the visits of their
// own appointments (VisitWindow.Practitioner). Rooms that are no
// appointment's stay open to every clinician; other roles are left to MayJoin
// and the role checks. ServeWS asks before the upgrade, so admit and end
// messages inside an appointment's room come only from its clinician.
func (s *Server) checkPractitioner(ctx context.Context, room string, claims *Claims) error {
	if claims.Role != RoleClinician || s.cfg.Visits == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, visitTimeout)
	defer cancel()
	w, err := s.cfg.Visits.Window(ctx, room, time.Now())
	if errors.Is(err, ErrNoVisit) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("appointment %s: %w", room, err)
	}
	if w.Practitioner == "" || w.Practitioner != claims.Subject {
		return fmt.Errorf("%w: appointment %s is another clinician's", ErrForbidden, room)
	}
	return nil
}

// isAppointmentRoom reports whether room belongs to an appointment: always for
// an appointment-bound guest token, and for anyone else when Visits knows it;
// whether the appointment's clinician has admitted its guests already; and
// which guests besides the patient were let in ("role|subject").
func (s *Server) isAppointmentRoom(room string, claims *Claims) (appt, admitted bool, let []string) {
	if s.cfg.Visits == nil {
		return claims.Appt != "", false, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, visitTimeout)
	defer cancel()
	w, err := s.cfg.Visits.Window(ctx, room, time.Now())
	if err != nil {
		return claims.Appt != "", false, nil
	}
	return true, w.Admitted, w.Let
}

func (s *Server) isWaiting(mb *member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mb.waiting
}

// arrived records that a guest entered the waiting room.
func (s *Server) arrived(room string, claims *Claims) {
	if s.cfg.Visits == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, visitTimeout)
	defer cancel()
	if err := s.cfg.Visits.Arrived(ctx, room, claims); err != nil {
		s.log.Warn("record arrival", "room", room, "err", err)
	}
}

// admitOne handles a clinician's admit message for one waiting participant.
func (s *Server) admitOne(c *conn, claims *Claims, by *member, id string, m *Admit) {
	if claims.Role != RoleClinician {
		s.refuse(c, id, CodeForbidden, "only a clinician admits from the waiting room")
		return
	}
	s.mu.Lock()
	target := by.room.members[m.ParticipantID]
	ok := target != nil && target.waiting
	s.mu.Unlock()
	if !ok {
		s.refuse(c, id, CodeNotFound, "no such participant in the waiting room")
		return
	}
	s.admit(by.room, []*member{target}, claims)
}

// Admit lets everyone waiting in the appointment's room into the call and
// returns how many were admitted. Only the appointment's clinician admits. A
// room where nobody waits yet is marked admitted, so that the patient
// arriving later enters directly; a relative or an interpreter still waits
// to be admitted (once).
func (s *Server) Admit(ctx context.Context, appt string, by *Claims) (int, error) {
	if by.Role != RoleClinician {
		return 0, fmt.Errorf("%w: only a clinician admits", ErrForbidden)
	}
	if err := s.checkPractitioner(ctx, appt, by); err != nil {
		return 0, err
	}
	s.mu.Lock()
	r := s.rooms[appt]
	var waiting []*member
	if r != nil {
		for _, m := range r.members {
			if m.waiting {
				waiting = append(waiting, m)
			}
		}
	}
	s.mu.Unlock()
	if r == nil {
		return 0, nil
	}
	s.admit(r, waiting, by)
	return len(waiting), nil
}

// admit moves members out of the waiting room into the call.
func (s *Server) admit(r *room, ms []*member, by *Claims) {
	s.mu.Lock()
	first := !r.admitted
	r.admitted = true
	var admitted []*member
	var guests []string // let in for the first time
	for _, m := range ms {
		if m.waiting && !m.gone {
			m.waiting = false
			admitted = append(admitted, m)
			if key := m.role + "|" + m.sub; m.role != RolePatient && !r.let[key] {
				if r.let == nil {
					r.let = map[string]bool{}
				}
				r.let[key] = true
				guests = append(guests, key)
			}
		}
	}
	list := r.listLocked()
	s.mu.Unlock()
	if (first || len(guests) > 0) && s.cfg.Visits != nil {
		ctx, cancel := context.WithTimeout(s.ctx, visitTimeout)
		if err := s.cfg.Visits.Admitted(ctx, r.id, by, guests); err != nil {
			s.log.Warn("record admission", "room", r.id, "err", err)
		}
		cancel()
	}
	for _, m := range admitted {
		s.mu.Lock()
		c := m.conn
		s.mu.Unlock()
		if c != nil {
			// admitted goes out before the media side's first offer.
			c.send(TypeAdmitted, "", Admitted{Participants: list})
			s.sendVitals(c, r)
		}
		if err := s.startMedia(m); err != nil {
			s.log.Warn("admit: media join failed", "room", r.id, "participant", m.id, "err", err)
			if c != nil {
				s.refuseJoin(c, "", err)
			}
		}
	}
	s.broadcast(r)
}

// End closes the appointment's room for everyone (leave with reason "ended")
// and records the visit as ended. Only the appointment's clinician ends it.
func (s *Server) End(ctx context.Context, appt string, by *Claims) error {
	if by.Role != RoleClinician {
		return fmt.Errorf("%w: only a clinician ends a visit", ErrForbidden)
	}
	if err := s.checkPractitioner(ctx, appt, by); err != nil {
		return err
	}
	s.mu.Lock()
	r := s.rooms[appt]
	s.mu.Unlock()
	if r == nil {
		r = &room{id: appt, members: map[string]*member{}}
	}
	s.endRoom(r, by)
	return nil
}

// endRoom records that the visit ended, then removes every member of r and
// tells them: a patient who reopens the link after "ended" finds it closed.
func (s *Server) endRoom(r *room, by *Claims) {
	if s.cfg.Visits != nil {
		ctx, cancel := context.WithTimeout(s.ctx, visitTimeout)
		err := s.cfg.Visits.Ended(ctx, r.id, by)
		cancel()
		if err != nil && !errors.Is(err, ErrNoVisit) {
			s.log.Warn("record the end of the visit", "room", r.id, "err", err)
		}
	}
	s.mu.Lock()
	var ms []*member
	for _, m := range r.members {
		ms = append(ms, m)
	}
	conns := make([]*conn, 0, len(ms))
	for _, m := range ms {
		if m.conn != nil {
			conns = append(conns, m.conn)
		}
		s.removeLocked(m)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.send(TypeLeave, "", Leave{Reason: ReasonEnded})
		c.close(1000, ReasonEnded)
	}
	for _, m := range ms {
		if m.media != nil {
			m.media.Close()
		}
	}
	s.log.Info("visit ended", "room", r.id, "participants", len(ms))
}
