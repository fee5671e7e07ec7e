package signaling

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Chat in a visit (protocol.go). A room keeps its messages in memory, in the
// order filed; in an appointment's room each message is first filed with the
// visit through ChatLog, which numbers it, so the chat outlives the room and
// the node: a room opened again (after everyone left, or on another node of
// the clinic) reads it back. A sender's page gives each message its own
// client id and sends again whatever got no receipt after a reconnect; a
// message filed before under the same sender and client id is answered as
// filed, so a message sent twice is kept once. A reader's page asks for
// what it missed (chat-sync with the last seq it holds) after every joined,
// so a reconnect loses nothing and reorders nothing.

// ChatLog keeps a visit's chat with its appointment. Package scheduler
// satisfies it through cmd/vclinic.
type ChatLog interface {
	// AddChat files m (ClientID, Name, Role, Text, Phrase and Sender set)
	// with the appointment whose room this is, and answers it as filed,
	// with ID, Seq and At. A message the same sender filed before under the
	// same ClientID is answered as it was filed then. ErrNoVisit: the room
	// is not an appointment's.
	AddChat(ctx context.Context, room string, by *Claims, m ChatMessage) (ChatMessage, error)
	// Chat answers the room's messages in seq order; ErrNoVisit as above.
	Chat(ctx context.Context, room string) ([]ChatMessage, error)
}

// MaxChatMessages bounds one visit's chat. A visit is a conversation of
// minutes; the bound keeps a page (or a script) from filling the record.
const MaxChatMessages = 500

// chatChunk is how many messages one chat frame carries when a page
// catches up: 50 of at most MaxChatText characters stay well under what a
// page's socket handles in one frame.
const chatChunk = 50

// chatTimeout bounds a call to the ChatLog.
const chatTimeout = 5 * time.Second

// roomChat is a room's chat; its own mutex (not Server.mu) guards it and is
// held while a message is filed, so the order filed is the order sent. It
// is taken before Server.mu, never while holding it.
type roomChat struct {
	mu       sync.Mutex
	loaded   bool // read from the ChatLog, or found to need none
	recorded bool // filed with the appointment through the ChatLog
	messages []ChatMessage
}

// loadChatLocked reads the room's chat from the ChatLog once; rc.mu is
// held. A failed read is tried again by the next message or sync.
func (s *Server) loadChatLocked(roomID string, rc *roomChat) error {
	if rc.loaded {
		return nil
	}
	if s.cfg.Chat == nil {
		rc.loaded = true
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, chatTimeout)
	defer cancel()
	ms, err := s.cfg.Chat.Chat(ctx, roomID)
	switch {
	case errors.Is(err, ErrNoVisit):
		rc.loaded = true
		return nil
	case err != nil:
		return err
	}
	rc.loaded, rc.recorded, rc.messages = true, true, ms
	return nil
}

// handleChat files one message and sends it to everyone in the room, the
// sender included (its receipt).
func (s *Server) handleChat(c *conn, claims *Claims, mb *member, id string, m *ChatSend) {
	s.mu.Lock()
	r, name := mb.room, mb.name
	s.mu.Unlock()
	rc := &r.chat
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := s.loadChatLocked(r.id, rc); err != nil {
		c.log.Warn("chat: reading the visit's messages", "err", err)
		s.refuse(c, id, CodeInternal, "the message was not sent; try again")
		return
	}
	for _, old := range rc.messages {
		if old.ClientID == m.ClientID && old.Sender == claims.Subject && old.Role == claims.Role {
			old.Mine = true
			c.send(TypeChat, id, Chat{Messages: []ChatMessage{old}})
			return
		}
	}
	if len(rc.messages) >= MaxChatMessages {
		s.refuse(c, id, CodeRateLimited, "this visit's chat is full; call the clinic")
		return
	}
	msg := ChatMessage{ClientID: m.ClientID, Name: name, Role: claims.Role, Text: m.Text,
		Phrase: m.Phrase, Sender: claims.Subject}
	if rc.recorded {
		ctx, cancel := context.WithTimeout(s.ctx, chatTimeout)
		filed, err := s.cfg.Chat.AddChat(ctx, r.id, claims, msg)
		cancel()
		if err != nil {
			if errors.Is(err, ErrForbidden) {
				s.refuse(c, id, CodeForbidden, "you may not write in this visit's chat")
				return
			}
			c.log.Warn("chat: filing a message", "err", err)
			s.refuse(c, id, CodeInternal, "the message was not sent; try again")
			return
		}
		msg = filed
	} else {
		msg.ID = randomToken(9)
		msg.Seq = int64(len(rc.messages)) + 1
		msg.At = time.Now().UTC()
	}
	if n := len(rc.messages); n == 0 || rc.messages[n-1].Seq < msg.Seq {
		rc.messages = append(rc.messages, msg)
	}
	s.mu.Lock()
	to := make([]*member, 0, len(r.members))
	for _, o := range r.members {
		if o.conn != nil {
			to = append(to, o)
		}
	}
	conns := make([]*conn, len(to))
	for i, o := range to {
		conns[i] = o.conn
	}
	s.mu.Unlock()
	for i, o := range to {
		out := msg
		out.Mine = o.sub == msg.Sender && o.role == msg.Role
		ref := ""
		if conns[i] == c {
			ref = id
		}
		conns[i].send(TypeChat, ref, Chat{Messages: []ChatMessage{out}})
	}
}

// handleChatSync sends the messages after m.After, in order, in chunks; an
// empty answer says there are none.
func (s *Server) handleChatSync(c *conn, claims *Claims, mb *member, id string, m *ChatSync) {
	s.mu.Lock()
	r := mb.room
	s.mu.Unlock()
	rc := &r.chat
	rc.mu.Lock()
	if err := s.loadChatLocked(r.id, rc); err != nil {
		rc.mu.Unlock()
		c.log.Warn("chat: reading the visit's messages", "err", err)
		s.refuse(c, id, CodeInternal, "the chat could not be read; try again")
		return
	}
	var out []ChatMessage
	for _, msg := range rc.messages {
		if msg.Seq > m.After {
			msg.Mine = msg.Sender == claims.Subject && msg.Role == claims.Role
			out = append(out, msg)
		}
	}
	rc.mu.Unlock()
	if len(out) == 0 {
		c.send(TypeChat, id, Chat{Messages: []ChatMessage{}, History: true})
		return
	}
	for len(out) > 0 {
		n := min(len(out), chatChunk)
		c.send(TypeChat, id, Chat{Messages: out[:n], History: true})
		out = out[n:]
	}
}
