package notify

import (
	"mime/quotedprintable"
	"strings"
)

// quotedPrintable encodes text (RFC 2045 §6.7) with CRLF line ends.
func quotedPrintable(text string) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n")))
	_ = w.Close()
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
}
