package signaling

import (
	"encoding/json"
	"testing"
)

// FuzzInbound feeds arbitrary frames through the parsing every inbound
// message takes (envelope, message type, payload, Validate): whatever a
// client sends, it is refused with an error or accepted, never a panic.
func FuzzInbound(f *testing.F) {
	for _, seed := range []string{
		`{"type":"join","id":"1","payload":{"version":1,"name":"Karen"}}`,
		`{"type":"offer","id":"2","payload":{"sdp":"v=0\r\n","kind":"publish"}}`,
		`{"type":"candidate","id":"3","payload":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","target":"subscribe"}}`,
		`{"type":"readings","id":"4","payload":{"readings":[{"deviceId":"d","characteristic":"2A35","value":"00","seq":1,"observedAt":"2026-01-01T00:00:00Z"}]}}`,
		`{"type":"stats","payload":{"video":{"packetsLost":-1}}}`,
		`{"type":"request-measurement","payload":{"code":"8310-5","deviceType":"thermometer"}}`,
		`{"type":"admit","payload":{"participantId":"` + "\u202e" + `"}}`,
		`{"type":"mute","payload":null}`,
		`[]`, `{"type":7}`, `{"type":"join","payload":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil || env.Type == "" {
			return
		}
		msg := inbound(env.Type)
		if msg == nil {
			return
		}
		if len(env.Payload) > 0 && string(env.Payload) != "null" {
			if err := json.Unmarshal(env.Payload, msg); err != nil {
				return
			}
		}
		_ = msg.Validate()
	})
}
