package gatt

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Record Access Control Point 0x2A52 (GATT Specification Supplement, Record
// Access Control Point; Glucose Service 1.0, the RACP procedures).
//
// A glucose meter notifies Glucose Measurements (0x2A18) only for records it
// is asked for. The edge enables notifications on 0x2A18 (and 0x2A34 for
// context) and indications on 0x2A52, then writes a request to 0x2A52:
//
//	RACPReportLast()      the most recent record only, to learn where the
//	                      meter's numbering stands
//	RACPReportAll()       every stored record
//	RACPReportFrom(n)     records with sequence number >= n
//	RACPNumberAll()       how many records RACPReportAll would send
//	RACPNumberFrom(n)     how many records RACPReportFrom(n) would send
//
// The meter notifies the records, then indicates a response on 0x2A52:
// response code (0x06) for "report stored records" with Success, or
// NoRecordsFound when there was nothing to send.
//
// Wire format: op code uint8, operator uint8, operand (variable). A request
// with operator "greater than or equal to" has the operand filter type
// uint8 (0x01 sequence number) then the sequence number uint16.
// Responses:
//
//	0x05 number of stored records   operator 0x00, count uint16
//	0x06 response code              operator 0x00, request op code uint8,
//	                                response code value uint8

// RACPOpCode is the first byte of an RACP request or response.
type RACPOpCode uint8

// RACP op codes.
const (
	RACPReportStoredRecords           RACPOpCode = 0x01
	RACPDeleteStoredRecords           RACPOpCode = 0x02
	RACPAbortOperation                RACPOpCode = 0x03
	RACPReportNumberOfStoredRecords   RACPOpCode = 0x04
	RACPNumberOfStoredRecordsResponse RACPOpCode = 0x05
	RACPResponseCode                  RACPOpCode = 0x06
)

func (o RACPOpCode) String() string {
	switch o {
	case RACPReportStoredRecords:
		return "report-stored-records"
	case RACPDeleteStoredRecords:
		return "delete-stored-records"
	case RACPAbortOperation:
		return "abort-operation"
	case RACPReportNumberOfStoredRecords:
		return "report-number-of-stored-records"
	case RACPNumberOfStoredRecordsResponse:
		return "number-of-stored-records-response"
	case RACPResponseCode:
		return "response-code"
	}
	return "reserved-" + strconv.Itoa(int(o))
}

// MarshalText writes String.
func (o RACPOpCode) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// RACP operators and filter types used here.
const (
	racpOperatorNull           = 0x00
	racpOperatorAll            = 0x01
	racpOperatorGreaterOrEqual = 0x03
	racpOperatorLast           = 0x06 // the most recent record
	racpFilterSequenceNumber   = 0x01
)

// RACPStatus is the response code value of an RACP response code.
type RACPStatus uint8

// RACP response code values.
const (
	RACPSuccess               RACPStatus = 0x01
	RACPOpCodeNotSupported    RACPStatus = 0x02
	RACPInvalidOperator       RACPStatus = 0x03
	RACPOperatorNotSupported  RACPStatus = 0x04
	RACPInvalidOperand        RACPStatus = 0x05
	RACPNoRecordsFound        RACPStatus = 0x06
	RACPAbortUnsuccessful     RACPStatus = 0x07
	RACPProcedureNotCompleted RACPStatus = 0x08
	RACPOperandNotSupported   RACPStatus = 0x09
)

func (s RACPStatus) String() string {
	switch s {
	case RACPSuccess:
		return "success"
	case RACPOpCodeNotSupported:
		return "op-code-not-supported"
	case RACPInvalidOperator:
		return "invalid-operator"
	case RACPOperatorNotSupported:
		return "operator-not-supported"
	case RACPInvalidOperand:
		return "invalid-operand"
	case RACPNoRecordsFound:
		return "no-records-found"
	case RACPAbortUnsuccessful:
		return "abort-unsuccessful"
	case RACPProcedureNotCompleted:
		return "procedure-not-completed"
	case RACPOperandNotSupported:
		return "operand-not-supported"
	}
	return "reserved-" + strconv.Itoa(int(s))
}

// MarshalText writes String.
func (s RACPStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// RACPReportAll is the request for every stored record.
func RACPReportAll() []byte {
	return []byte{byte(RACPReportStoredRecords), racpOperatorAll}
}

// RACPReportLast is the request for the most recent stored record (operator
// 0x06, "last record"): the meter notifies that one record, or answers
// NoRecordsFound when it holds none.
func RACPReportLast() []byte {
	return []byte{byte(RACPReportStoredRecords), racpOperatorLast}
}

// RACPReportFrom is the request for the stored records whose sequence number
// is greater than or equal to seq.
func RACPReportFrom(seq uint16) []byte {
	return []byte{byte(RACPReportStoredRecords), racpOperatorGreaterOrEqual,
		racpFilterSequenceNumber, byte(seq), byte(seq >> 8)}
}

// RACPNumberAll is the request for the number of stored records, answered
// with a number of stored records response (0x05).
func RACPNumberAll() []byte {
	return []byte{byte(RACPReportNumberOfStoredRecords), racpOperatorAll}
}

// RACPNumberFrom is the request for the number of stored records whose
// sequence number is greater than or equal to seq.
func RACPNumberFrom(seq uint16) []byte {
	return []byte{byte(RACPReportNumberOfStoredRecords), racpOperatorGreaterOrEqual,
		racpFilterSequenceNumber, byte(seq), byte(seq >> 8)}
}

// RACPResponse is a response the server indicates on the RACP.
type RACPResponse struct {
	OpCode RACPOpCode `json:"opCode"`
	// RequestOpCode and Status are set for a response code (0x06).
	RequestOpCode RACPOpCode `json:"requestOpCode,omitempty"`
	Status        RACPStatus `json:"status,omitempty"`
	// Records is set for a number of stored records response (0x05).
	Records Optional[uint16] `json:"records,omitzero"`
}

// DecodeRACPResponse decodes a response indicated on the RACP. A request
// (op codes 0x01-0x04) is not a response and is an error.
func DecodeRACPResponse(raw []byte) (RACPResponse, error) {
	r := reader{char: RecordAccessControlPoint, buf: raw}
	resp, err := r.racpResponse()
	if err == nil {
		err = r.done(0)
	}
	if err != nil {
		return RACPResponse{}, err
	}
	return resp, nil
}

func (r *reader) racpResponse() (RACPResponse, error) {
	op, err := r.u8("op code")
	if err != nil {
		return RACPResponse{}, err
	}
	resp := RACPResponse{OpCode: RACPOpCode(op)}
	if resp.OpCode != RACPResponseCode && resp.OpCode != RACPNumberOfStoredRecordsResponse {
		return RACPResponse{}, r.fail("op code", 0, fmt.Errorf("%w: %s is not a response", ErrOutOfRange, resp.OpCode))
	}
	operator, err := r.u8("operator")
	if err != nil {
		return RACPResponse{}, err
	}
	if operator != racpOperatorNull {
		return RACPResponse{}, r.fail("operator", 1, fmt.Errorf("%w: %d, want 0 (null)", ErrOutOfRange, operator))
	}
	b, err := r.take("operand", 2)
	if err != nil {
		return RACPResponse{}, err
	}
	if resp.OpCode == RACPResponseCode {
		resp.RequestOpCode, resp.Status = RACPOpCode(b[0]), RACPStatus(b[1])
	} else {
		resp.Records = Some(binary.LittleEndian.Uint16(b))
	}
	return resp, nil
}

func decodeRACP(d *Decoded, r *reader) error {
	resp, err := r.racpResponse()
	if err != nil {
		return err
	}
	d.RACP = Some(resp)
	return nil
}

// A glucose meter's stored record is named by the meter itself: its
// sequence number and its base time, both in the Glucose Measurement (GATT
// Specification Supplement, Glucose Measurement 0x2A18: flags uint8,
// sequence number uint16, base time Date Time (year uint16, month, day,
// hours, minutes, seconds), then optional fields). Its record key joins the
// two into one positive int64:
//
//	bit  63       0
//	bit  62       1: a record key
//	bits 56..61   0
//	bits 42..55   base time year, 1582..9999; 0 when the date is unknown
//	bits 38..41   month
//	bits 33..37   day
//	bits 28..32   hours
//	bits 22..27   minutes
//	bits 16..21   seconds
//	bits  0..15   sequence number
//
// The server files a Glucose Measurement that carries a sequence number
// under its record key, whatever seq the edge sent: the same record sent
// again (asked for twice, or forwarded by both the patient's browser and the
// home gateway) is stored once, and a record that reuses a number after the
// meter was reset or its numbering wrapped past 0xFFFF has another base time,
// so another key, and is stored. Time-based seqs (Unix milliseconds) stay
// below 2^62 for millions of years, so they never meet a record key.

// GlucoseRecordKeyBase is the lowest record key.
const GlucoseRecordKeyBase int64 = 1 << 62

// GlucoseRecordKey is the record key of the record numbered seq with base
// time t.
func GlucoseRecordKey(seq uint16, t DateTime) int64 {
	return GlucoseRecordKeyBase |
		int64(t.Year&0x3FFF)<<42 | int64(t.Month&0xF)<<38 | int64(t.Day&0x1F)<<33 |
		int64(t.Hours&0x1F)<<28 | int64(t.Minutes&0x3F)<<22 | int64(t.Seconds&0x3F)<<16 |
		int64(seq)
}

// RecordKeyOf is the record key of a decoded Glucose Measurement; false
// when it is not one or carries no sequence number.
func RecordKeyOf(d Decoded) (int64, bool) {
	if d.Characteristic != GlucoseMeasurement || !d.SequenceNumber.Valid {
		return 0, false
	}
	return GlucoseRecordKey(d.SequenceNumber.V, d.Time), true
}
