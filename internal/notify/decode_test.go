package notify

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
)

func quotedPrintableReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

// base64Decode decodes a base64 body with line breaks.
func base64Decode(dst, src []byte) (int, error) {
	return base64.StdEncoding.Decode(dst, bytes.Join(bytes.Fields(src), nil))
}
