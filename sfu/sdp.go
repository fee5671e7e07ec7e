package sfu

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// checkSDP parses a session description (RFC 8866) and checks what pion
// would otherwise only find wrong after it has taken the description in:
// every media section has a mid (RFC 8843), the ICE credentials (RFC 8839
// §5.4) and DTLS fingerprint (RFC 8122 §5) are there, and every candidate
// parses. Pion cannot roll a description back, so a description it takes in
// and then refuses leaves the connection stuck; one that fails here leaves
// the connection untouched.
func checkSDP(s string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return err
	}
	_, ufrag := d.Attribute("ice-ufrag")
	_, pwd := d.Attribute("ice-pwd")
	fp, haveFP := d.Attribute("fingerprint")
	for i, m := range d.MediaDescriptions {
		if _, ok := m.Attribute("mid"); !ok {
			return fmt.Errorf("media section %d has no mid", i)
		}
		if _, ok := m.Attribute("ice-ufrag"); ok {
			ufrag = true
		}
		if _, ok := m.Attribute("ice-pwd"); ok {
			pwd = true
		}
		if v, ok := m.Attribute("fingerprint"); ok && !haveFP {
			fp, haveFP = v, true
		}
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				if _, err := ice.UnmarshalCandidate(a.Value); err != nil {
					return fmt.Errorf("media section %d: candidate %q: %w", i, a.Value, err)
				}
			}
		}
	}
	if len(d.MediaDescriptions) == 0 {
		return errors.New("no media sections")
	}
	if !ufrag || !pwd {
		return errors.New("no ICE ufrag or password")
	}
	if !haveFP || len(strings.Fields(fp)) != 2 {
		return errors.New("no DTLS fingerprint")
	}
	return nil
}
