package gatt

import (
	"bytes"
	"errors"
	"testing"
)

func TestRACPRequests(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"all", RACPReportAll(), []byte{0x01, 0x01}},
		{"last", RACPReportLast(), []byte{0x01, 0x06}},
		{"from 0x1234", RACPReportFrom(0x1234), []byte{0x01, 0x03, 0x01, 0x34, 0x12}},
		{"from 0", RACPReportFrom(0), []byte{0x01, 0x03, 0x01, 0x00, 0x00}},
		{"from 65535", RACPReportFrom(0xFFFF), []byte{0x01, 0x03, 0x01, 0xFF, 0xFF}},
		{"number of all", RACPNumberAll(), []byte{0x04, 0x01}},
		{"number from 0x1234", RACPNumberFrom(0x1234), []byte{0x04, 0x03, 0x01, 0x34, 0x12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Equal(tt.got, tt.want) {
				t.Errorf("got % X, want % X", tt.got, tt.want)
			}
		})
	}
}

func TestDecodeRACPResponse(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want RACPResponse
	}{
		{"success", "06 00 01 01", RACPResponse{OpCode: RACPResponseCode, RequestOpCode: RACPReportStoredRecords, Status: RACPSuccess}},
		{"no records found", "06 00 01 06", RACPResponse{OpCode: RACPResponseCode, RequestOpCode: RACPReportStoredRecords, Status: RACPNoRecordsFound}},
		{"operator not supported", "06 00 01 04", RACPResponse{OpCode: RACPResponseCode, RequestOpCode: RACPReportStoredRecords, Status: RACPOperatorNotSupported}},
		{"abort unsuccessful", "06 00 03 07", RACPResponse{OpCode: RACPResponseCode, RequestOpCode: RACPAbortOperation, Status: RACPAbortUnsuccessful}},
		{"reserved status kept", "06 00 01 F0", RACPResponse{OpCode: RACPResponseCode, RequestOpCode: RACPReportStoredRecords, Status: 0xF0}},
		{"number of records", "05 00 0A 00", RACPResponse{OpCode: RACPNumberOfStoredRecordsResponse, Records: Some[uint16](10)}},
		{"no records", "05 00 00 00", RACPResponse{OpCode: RACPNumberOfStoredRecordsResponse, Records: Some[uint16](0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRACPResponse(fromHex(tt.hex))
			if err != nil || got != tt.want {
				t.Errorf("DecodeRACPResponse(%s) = %+v, %v, want %+v", tt.hex, got, err, tt.want)
			}
		})
	}
	bad := []struct {
		name, hex string
		err       error
		field     string
	}{
		{"empty", "", ErrTruncated, "op code"},
		{"a request is not a response", "01 01", ErrOutOfRange, "op code"},
		{"report from is not a response", "01 03 01 34 12", ErrOutOfRange, "op code"},
		{"reserved op code", "07 00 00 00", ErrOutOfRange, "op code"},
		{"operator not null", "06 01 01 01", ErrOutOfRange, "operator"},
		{"no operator", "06", ErrTruncated, "operator"},
		{"response code cut", "06 00 01", ErrTruncated, "operand"},
		{"count cut", "05 00 0A", ErrTruncated, "operand"},
		{"trailing", "06 00 01 01 00", ErrTrailing, "end"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRACPResponse(fromHex(tt.hex))
			var de *DecodeError
			if !errors.Is(err, tt.err) || !errors.As(err, &de) || de.Field != tt.field {
				t.Errorf("DecodeRACPResponse(%s) = %+v, %v; want %v in %q", tt.hex, got, err, tt.err, tt.field)
			}
		})
	}
}

func TestDecodeRACPThroughDecode(t *testing.T) {
	runJSONCases(t, RecordAccessControlPoint, []jsonCase{
		{"response code", "06 00 01 06",
			`{"characteristic":"0x2A52","name":"Record Access Control Point","decoderVersion":1,"measurements":[],"racp":{"opCode":"response-code","requestOpCode":"report-stored-records","status":"no-records-found"}}`},
		{"number of records", "05 00 0A 00",
			`{"characteristic":"0x2A52","name":"Record Access Control Point","decoderVersion":1,"measurements":[],"racp":{"opCode":"number-of-stored-records-response","records":10}}`},
	})
}
