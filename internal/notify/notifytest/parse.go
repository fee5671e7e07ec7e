package notifytest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
)

// Mail is a received message as a mail client reads it.
type Mail struct {
	Header   mail.Header
	Subject  string // decoded (RFC 2047)
	Text     string // the text/plain part, decoded
	Calendar string // the text/calendar part, decoded; "" for none
	Method   string // the calendar part's method parameter
}

// Parse reads r with the standard library's mail and MIME readers.
func (r Received) Parse() (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return Mail{}, err
	}
	out := Mail{Header: msg.Header}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return out, fmt.Errorf("subject: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return out, err
	}
	if mt == "text/plain" {
		b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		out.Text = string(b)
		return out, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // undoes quoted-printable itself
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		switch pt {
		case "text/plain":
			out.Text = string(b)
		case "text/calendar":
			raw, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(b), nil)))
			if err != nil {
				return out, fmt.Errorf("calendar part: %w", err)
			}
			out.Calendar, out.Method = string(raw), pp["method"]
		}
	}
}
