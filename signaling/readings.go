package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ReadingsSink files the home-kit readings a patient's page sends over its
// WebSocket. Package homekit satisfies it through cmd/vclinic, on the same
// path as POST /api/v1/readings, and the readings it stores reach the visit
// live through PushVitals.
type ReadingsSink interface {
	// SubmitReadings files items, each one reading object as the client sent
	// it, for the kit of the patient whose token by is, and answers one
	// result per item, in order. An error refuses the whole batch: one that
	// wraps ErrForbidden or ErrBadReadings is the sender's doing, its message
	// fit to show; any other is the server's failure, and sending the batch
	// again is safe (filing is idempotent).
	SubmitReadings(ctx context.Context, by *Claims, items []json.RawMessage) ([]ReadingResult, error)
}

// readingsTimeout bounds one call to the ReadingsSink, which writes to the
// records and may wait there for another writer's lock.
const readingsTimeout = 15 * time.Second

// handleReadings files a patient's readings and answers with their results.
// It runs on the connection's reader, so one connection's batches are filed
// one after the other, in the order sent.
func (s *Server) handleReadings(c *conn, claims *Claims, id string, m *Readings) {
	if claims.Role != RolePatient || claims.Subject == "" {
		s.refuse(c, id, CodeForbidden, "only the patient sends readings, from the patient's own link")
		return
	}
	if s.cfg.Readings == nil {
		s.refuse(c, id, CodeForbidden, "this server takes no readings over the WebSocket")
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, readingsTimeout)
	defer cancel()
	results, err := s.cfg.Readings.SubmitReadings(ctx, claims, m.Readings)
	if err == nil && len(results) != len(m.Readings) {
		err = errors.New("readings sink answered a different number of results")
	}
	switch {
	case errors.Is(err, ErrForbidden):
		s.refuse(c, id, CodeForbidden, err.Error())
	case errors.Is(err, ErrBadReadings):
		s.refuse(c, id, CodeBadPayload, err.Error())
	case err != nil:
		c.log.Warn("readings", "items", len(m.Readings), "err", err)
		s.refuse(c, id, CodeInternal, "the readings were not filed; send them again")
	default:
		if results == nil {
			results = []ReadingResult{} // an empty batch: "results": []
		}
		c.send(TypeReadingsResult, id, ReadingsResult{Results: results})
	}
}
