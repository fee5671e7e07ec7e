package signaling

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func strp(s string) *string { return &s }
func u16p(v uint16) *uint16 { return &v }

// goldenMessages is one example of every message, in both directions.
var goldenMessages = []struct {
	name    string
	typ     string
	id      string
	payload any
}{
	{"join", TypeJoin, "1", &Join{Version: 1, Name: "Karen Jensen"}},
	{"resume", TypeResume, "2", &Resume{ResumeToken: "r3sume-t0ken"}},
	{"joined", TypeJoined, "1", &Joined{Version: 1, Room: "demo", ParticipantID: "p1", ResumeToken: "tok",
		GraceSeconds: 20, ICEServers: []ICEServer{{URLs: []string{"turn:turn.example.org:3478"}, Username: "u", Credential: "c"}},
		Participants: []Participant{{ID: "p1", Name: "Karen Jensen", Role: "patient", State: "active", Audio: true, Video: true}}}},
	{"participants", TypeParticipants, "", &Participants{Participants: []Participant{
		{ID: "p1", Name: "Karen Jensen", Role: "patient", State: "reconnecting", Audio: true, Video: false},
		{ID: "p2", Name: "Dr. Anna Holm", Role: "clinician", State: "active", Audio: false, Video: true}}}},
	{"offer-publish", TypeOffer, "3", &SDP{PC: PCPublish, SDP: "v=0\r\n"}},
	{"answer-subscribe", TypeAnswer, "4", &SDP{PC: PCSubscribe, SDP: "v=0\r\n"}},
	{"candidate", TypeCandidate, "5", &Candidate{PC: PCPublish, Candidate: &ICECandidate{
		Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host", SDPMid: strp("0"), SDPMLineIndex: u16p(0), UsernameFragment: strp("abcd")}}},
	{"candidate-end", TypeCandidate, "6", &Candidate{PC: PCSubscribe}},
	{"mute", TypeMute, "7", &Mute{Audio: false, Video: true}},
	{"stats", TypeStats, "8", &Stats{FramesDecoded: 120, VideoPacketsReceived: 900, VideoPacketsLost: 2,
		AudioPacketsReceived: 250, RoundTripSeconds: 0.012, FirstFrameMillis: 1650}},
	{"ice-restart", TypeICERestart, "9", &ICERestart{PC: PCSubscribe}},
	{"layers", TypeLayers, "", &Layers{Kind: "video", Active: []string{"q", "f"}}},
	{"quality", TypeQuality, "", &Quality{Level: QualityWeak, Reasons: []string{QualityBandwidth}, Kbps: 280}},
	{"video-paused", TypeVideoPaused, "", &VideoPaused{ParticipantID: "p1", Paused: true}},
	{"stats-quality", TypeStats, "16", &Stats{FramesDecoded: 120, VideoPacketsReceived: 900, VideoPacketsLost: 60,
		AudioPacketsReceived: 250, AudioPacketsLost: 12, RoundTripSeconds: 0.41, Quality: QualityWeak, QualityReasons: []string{QualityLoss, QualityDelay}}},
	{"stats-record", TypeStats, "17", &Stats{FramesDecoded: 900, VideoPacketsReceived: 7000, AudioPacketsReceived: 1500,
		RoundTripSeconds: 0.035, FirstFrameMillis: 820, FrameWidth: 1280, FrameHeight: 720, FramesPerSecond: 29.5,
		FreezeCount: 2, FreezeMillis: 1400, CandidateType: "host"}},
	{"participants-quality", TypeParticipants, "", &Participants{Participants: []Participant{
		{ID: "p1", Name: "Karen Jensen", Role: "patient", State: "active", Audio: true, Video: true, Quality: QualityVeryWeak, QualityReasons: []string{QualityBandwidth}},
		{ID: "p2", Name: "Dr. Anna Holm", Role: "clinician", State: "active", Audio: true, Video: true, Quality: QualityGood}}}},
	{"ping", TypePing, "10", &Ping{}},
	{"pong", TypePong, "10", &Pong{}},
	{"leave", TypeLeave, "11", &Leave{}},
	{"leave-shutdown", TypeLeave, "", &Leave{Reason: ReasonShutdown}},
	{"error", TypeError, "", &Error{Code: CodeBadSDP, Message: "offer: bad sdp", Ref: "3"}},
	{"joined-waiting", TypeJoined, "1", &Joined{Version: 1, Room: "appt-1", ParticipantID: "p1", ResumeToken: "tok",
		Waiting: true, GraceSeconds: 20, ICEServers: []ICEServer{},
		Participants: []Participant{{ID: "p1", Name: "Karen Jensen", Role: "patient", State: "waiting", Audio: true, Video: true}}}},
	{"admit", TypeAdmit, "12", &Admit{ParticipantID: "p1"}},
	{"admitted", TypeAdmitted, "", &Admitted{Participants: []Participant{
		{ID: "p2", Name: "Dr. Anna Holm", Role: "clinician", State: "active", Audio: true, Video: true},
		{ID: "p1", Name: "Karen Jensen", Role: "patient", State: "active", Audio: true, Video: true}}}},
	{"end", TypeEnd, "13", &End{}},
	{"vitals", TypeVitals, "", &Vitals{Vitals: []Vital{
		{Code: "8480-6", Value: "120", Unit: "mm[Hg]", At: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC), DeviceID: "dev-1", Source: "device", Trend: []string{"131", "126"}},
		{Code: "8310-5", Value: "37.60", Unit: "Cel", Flag: "", At: time.Date(2026, 11, 26, 9, 31, 0, 0, time.UTC), Source: "patient-entered"},
		{Code: "59408-5", Unit: "%", Absent: "error", At: time.Date(2026, 11, 26, 9, 32, 0, 0, time.UTC), DeviceID: "ox-1", Source: "device"},
		{Code: "8480-6", Value: "400", Unit: "mm[Hg]", Flag: "above 300 mm[Hg]: check the reading", At: time.Date(2026, 11, 26, 9, 33, 0, 0, time.UTC), DeviceID: "dev-1", Source: "device"},
		{Code: "8310-5", Value: "38.40", Unit: "Cel", At: time.Date(2026, 11, 26, 9, 34, 0, 0, time.UTC), DeviceID: "th-1", Source: "device",
			Via: "gateway", DeviceName: "Termometer", ReadingID: "rd-3", ReceivedAt: time.Date(2026, 11, 26, 9, 34, 2, 0, time.UTC), Outside: "above", LimitLow: "35.5", LimitHigh: "38.0", LimitUnit: "Cel"}}}},
	{"request-measurement", TypeRequestMeasurement, "14", &RequestMeasurement{Code: "8480-6", DeviceType: "blood-pressure"}},
	{"readings", TypeReadings, "15", &Readings{Readings: []json.RawMessage{
		json.RawMessage(`{"deviceId":"dev-1","characteristic":"2A35","value":"04780050005D004800","seq":7,` +
			`"observedAt":"2026-11-26T09:30:00Z","identifiedBy":"system-id",` +
			`"deviceInfo":{"systemId":"0074E8FEFF051C00","manufacturer":"Omron Healthcare","model":"BP7150"}}`),
		json.RawMessage(`{"deviceId":"dev-9","characteristic":"2A1C","value":"02B00E00FE","observedAt":"2026-11-26T09:31:00Z"}`),
		json.RawMessage(`{"deviceId":"dev-1","characteristic":"2A35","value":"00900150005D00","seq":8,"observedAt":"2026-11-26T09:32:00Z"}`)}}},
	{"readings-result", TypeReadingsResult, "15", &ReadingsResult{Results: []ReadingResult{
		{Index: 0, Status: ReadingStored, ID: "rd-1"},
		{Index: 1, Status: ReadingRejected, Reason: "unknown device"},
		{Index: 2, Status: ReadingStored, ID: "rd-2", Flags: []string{"implausible"}}}}},
}

func TestGoldenJSON(t *testing.T) {
	for _, tc := range goldenMessages {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			env, err := json.MarshalIndent(Envelope{Type: tc.typ, ID: tc.id, Payload: raw}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			env = append(env, '\n')
			path := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, env, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(env, want) {
				t.Errorf("wire format changed:\ngot\n%s\nwant\n%s", env, want)
			}
			// Round trip: the golden bytes decode to the same value.
			var back Envelope
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatal(err)
			}
			if back.Type != tc.typ || back.ID != tc.id {
				t.Errorf("envelope: got %q/%q, want %q/%q", back.Type, back.ID, tc.typ, tc.id)
			}
			got := reflect.New(reflect.TypeOf(tc.payload).Elem()).Interface()
			if err := json.Unmarshal(back.Payload, got); err != nil {
				t.Fatal(err)
			}
			if sdp, ok := got.(*SDP); ok {
				sdp.kind = tc.payload.(*SDP).kind
			}
			if rs, ok := got.(*Readings); ok {
				// The items are raw JSON: compare them as the sender wrote
				// them, without the golden file's indentation.
				for i, item := range rs.Readings {
					var b bytes.Buffer
					if err := json.Compact(&b, item); err != nil {
						t.Fatal(err)
					}
					rs.Readings[i] = b.Bytes()
				}
			}
			if !reflect.DeepEqual(got, tc.payload) {
				t.Errorf("round trip: got %+v, want %+v", got, tc.payload)
			}
		})
	}
}

func TestInboundTypes(t *testing.T) {
	clientTypes := []string{TypeJoin, TypeResume, TypeOffer, TypeAnswer, TypeCandidate, TypeMute,
		TypeStats, TypeICERestart, TypePing, TypeLeave, TypeAdmit, TypeEnd, TypeRequestMeasurement, TypeReadings}
	for _, typ := range clientTypes {
		if inbound(typ) == nil {
			t.Errorf("inbound(%q) = nil, want a payload type", typ)
		}
	}
	for _, typ := range []string{TypeJoined, TypeParticipants, TypePong, TypeError, TypeAdmitted, TypeVitals, TypeReadingsResult, TypeLayers, TypeQuality, TypeVideoPaused, "", "JOIN", "hello"} {
		if inbound(typ) != nil {
			t.Errorf("inbound(%q) accepts a message a client may not send", typ)
		}
	}
	if m := inbound(TypeOffer).(*SDP); m.kind != TypeOffer {
		t.Errorf("offer kind = %q", m.kind)
	}
	if m := inbound(TypeAnswer).(*SDP); m.kind != TypeAnswer {
		t.Errorf("answer kind = %q", m.kind)
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", maxSDPLen+1)
	tests := []struct {
		name string
		msg  Validator
		ok   bool
	}{
		{"join ok", &Join{Version: ProtocolVersion, Name: "Karen"}, true},
		{"join old version", &Join{Version: 0}, false},
		{"join future version", &Join{Version: ProtocolVersion + 1}, false},
		{"join long name", &Join{Version: ProtocolVersion, Name: strings.Repeat("a", 101)}, false},
		{"join bad utf8", &Join{Version: ProtocolVersion, Name: "\xff"}, false},
		{"resume ok", &Resume{ResumeToken: "abc"}, true},
		{"resume empty", &Resume{}, false},
		{"resume long", &Resume{ResumeToken: strings.Repeat("a", 129)}, false},
		{"sdp ok", &SDP{PC: PCPublish, SDP: "v=0"}, true},
		{"sdp bad pc", &SDP{PC: "both", SDP: "v=0"}, false},
		{"sdp empty", &SDP{PC: PCPublish}, false},
		{"sdp huge", &SDP{PC: PCPublish, SDP: long}, false},
		{"candidate ok", &Candidate{PC: PCSubscribe, Candidate: &ICECandidate{Candidate: "candidate:1"}}, true},
		{"candidate end", &Candidate{PC: PCSubscribe}, true},
		{"candidate bad pc", &Candidate{PC: ""}, false},
		{"candidate huge", &Candidate{PC: PCPublish, Candidate: &ICECandidate{Candidate: strings.Repeat("c", 1025)}}, false},
		{"candidate long mid", &Candidate{PC: PCPublish, Candidate: &ICECandidate{Candidate: "c", SDPMid: strp(strings.Repeat("m", 65))}}, false},
		{"stats ok", &Stats{FramesDecoded: 1}, true},
		{"stats negative", &Stats{FramesDecoded: -1}, false},
		{"stats quality", &Stats{Quality: QualityVeryWeak, QualityReasons: []string{QualityBandwidth, QualityLoss}}, true},
		{"stats unknown quality", &Stats{Quality: "excellent"}, false},
		{"stats unknown reason", &Stats{Quality: QualityWeak, QualityReasons: []string{"moon"}}, false},
		{"stats record", &Stats{FrameWidth: 640, FrameHeight: 360, FramesPerSecond: 24, FreezeCount: 1, FreezeMillis: 500, CandidateType: "tcp"}, true},
		{"stats huge frame", &Stats{FrameWidth: 100000, FrameHeight: 360}, false},
		{"stats negative freezes", &Stats{FreezeCount: -1}, false},
		{"stats frame rate", &Stats{FramesPerSecond: 1000}, false},
		{"stats round trip of minutes", &Stats{RoundTripSeconds: 600}, false},
		{"stats unknown path", &Stats{CandidateType: "carrier-pigeon"}, false},
		{"stats too many reasons", &Stats{Quality: QualityWeak, QualityReasons: []string{QualityLoss, QualityLoss, QualityLoss, QualityLoss, QualityLoss}}, false},
		{"ice restart subscribe", &ICERestart{PC: PCSubscribe}, true},
		{"ice restart publish", &ICERestart{PC: PCPublish}, false},
		{"admit ok", &Admit{ParticipantID: "p1"}, true},
		{"admit nobody", &Admit{}, false},
		{"readings ok", &Readings{Readings: []json.RawMessage{json.RawMessage(`{}`)}}, true},
		{"readings empty batch", &Readings{Readings: []json.RawMessage{}}, true},
		{"readings missing", &Readings{}, false},
		{"readings over the limit", &Readings{Readings: make([]json.RawMessage, MaxReadings+1)}, false},
		{"readings at the limit", &Readings{Readings: make([]json.RawMessage, MaxReadings)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
