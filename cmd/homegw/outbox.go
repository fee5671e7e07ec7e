package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"vclinic/homekit/gatt"
)

// The outbox is one append-only log, outbox.log, in its directory. Every
// line is
//
//	<crc32c of the JSON, 8 hex digits> <JSON record>\n
//
// and a record is one of
//
//	{"k":"r", ...}   a reading, with its log id and its per-device seq (for
//	                 a glucose meter's stored record, the record's key)
//	{"k":"a","ids":[...]}   readings settled (stored, duplicate or dead-lettered)
//	{"k":"m","dev":D,"rec":K}   the glucose record with key K is the last one
//	                 taken from device D
//	{"k":"c","next":N,"seqs":{dev:seq},"recs":{dev:K}}   checkpoint, the
//	                 first line after compaction
//
// Why it survives a crash:
//
//   - Enqueue writes the line with one write and fsyncs the file before it
//     returns, and only then hands the reading to the uploader. A reading
//     Enqueue returned for is on disk; a reading that is not on disk was
//     never acknowledged to the producer and never sent to the server, so
//     neither it nor its seq is known outside the process.
//   - A crash can leave only the last line torn (appends go to the end).
//     Open checks every line's checksum; a bad last line is cut off, which
//     drops only a write that had not been fsynced, i.e. an Enqueue or a
//     settle that had not returned. A bad line anywhere else is corruption
//     and Open refuses the directory rather than guess.
//   - A lost settle line only makes the uploader send the readings again;
//     the server answers "duplicate" by (device, characteristic, seq), so
//     nothing is stored twice.
//   - The per-device seq counters are the maximum seq in the log, and the
//     checkpoint carries them over compaction, so a seq is never reused,
//     even after every reading of a device has been delivered and compacted.
//   - A seq is also at least the reading's observation time in Unix
//     milliseconds (seq = max(last+1, at.UnixMilli())), so a device with no
//     history in the outbox (a new one, or the directory wiped) starts above
//     the seqs it was given before, and the server stores its readings
//     instead of answering "duplicate" or rejecting a reused seq. This holds
//     as long as the clock does not go back past the old readings and a
//     device averaged at most one reading per millisecond.
//   - A glucose meter's stored record has its key as seq (recordKey in
//     glucose.go: at or above gatt.GlucoseRecordKeyBase, far above every time-based
//     seq); such seqs do not count towards the device's time-based counter.
//   - The last glucose record taken per device (the next connection checks
//     the meter's numbering against it and asks for what follows) is an "m"
//     line, written only after every record of the report it closes is on
//     disk, and carried by the checkpoint. A crash in between makes the
//     gateway ask for those records again; their keys make the server answer
//     "duplicate".
//   - Compaction writes checkpoint + unsettled readings to outbox.log.tmp,
//     fsyncs it, renames it over outbox.log and fsyncs the directory. rename
//     is atomic: after a crash the log is either the old one or the new one,
//     both complete.
//
// Dead letters (readings the server rejected) are appended to
// deadletter.jsonl, fsynced, before their settle line is written; a crash in
// between can list one reading twice there, never lose one.
type Outbox struct {
	dir string

	mu      sync.Mutex
	f       *os.File
	next    uint64           // next log id
	seqs    map[string]int64 // last seq given, per device
	recs    map[string]int64 // key of the last glucose record taken, per device
	pending []Reading        // unsettled, in log order
	settled int              // settled reading lines still in the log
	notify  chan struct{}
	closed  bool

	// CompactAfter is how many settled readings the log may hold before
	// Settle compacts it. Default 4096.
	CompactAfter int
}

// Reading is one raw value in the outbox.
type Reading struct {
	ID         uint64    `json:"id"` // position in the log, increasing
	DeviceID   string    `json:"dev"`
	Char       string    `json:"char"` // "2A35"
	Value      string    `json:"val"`  // hex
	Seq        int64     `json:"seq"`
	ObservedAt time.Time `json:"at"`
	// Record is only read, from logs written before records had keys: a
	// glucose record's number plus one, then the last record taken.
	Record int64 `json:"rec,omitempty"`
}

type record struct {
	K    string           `json:"k"`
	R    *Reading         `json:"r,omitempty"`
	IDs  []uint64         `json:"ids,omitempty"`
	Next uint64           `json:"next,omitempty"`
	Seqs map[string]int64 `json:"seqs,omitempty"`
	Recs map[string]int64 `json:"recs,omitempty"`
	Dev  string           `json:"dev,omitempty"`
	Rec  int64            `json:"rec,omitempty"`
}

const (
	logName  = "outbox.log"
	deadName = "deadletter.jsonl"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a log damaged other than at its end.
var errCorrupt = errors.New("outbox: corrupt log")

func encodeLine(rec record) ([]byte, error) {
	js, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	line := fmt.Appendf(nil, "%08x ", crc32.Checksum(js, castagnoli))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// decodeLine parses one line without its newline.
func decodeLine(line []byte) (record, bool) {
	var rec record
	if len(line) < 10 || line[8] != ' ' {
		return rec, false
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum(line[9:], castagnoli) {
		return rec, false
	}
	if json.Unmarshal(line[9:], &rec) != nil {
		return rec, false
	}
	return rec, true
}

// OpenOutbox opens (creating if need be) the outbox in dir, recovering from
// a crash: a torn last line is cut off.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir, next: 1, seqs: map[string]int64{}, recs: map[string]int64{}, notify: make(chan struct{}, 1), CompactAfter: 4096}
	path := filepath.Join(dir, logName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	good, err := o.replay(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() != good {
		// A torn tail: a write whose fsync never returned.
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	o.f = f
	if err := syncDir(dir); err != nil { // the log's directory entry, if new
		f.Close()
		return nil, err
	}
	if len(o.pending) > 0 {
		o.notify <- struct{}{}
	}
	return o, nil
}

// replay reads the log into o and returns the length of its good prefix.
func (o *Outbox) replay(f *os.File) (int64, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	var good int64
	byID := map[uint64]int{}
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		var line []byte
		last := nl < 0
		if last {
			line = data
		} else {
			line = data[:nl]
			last = nl == len(data)-1
		}
		rec, ok := decodeLine(line)
		if !ok || nl < 0 {
			if last {
				break // torn tail
			}
			return 0, fmt.Errorf("%w at byte %d", errCorrupt, good)
		}
		switch rec.K {
		case "c":
			o.next = max(o.next, rec.Next)
			for d, s := range rec.Seqs {
				o.seqs[d] = max(o.seqs[d], s)
			}
			for d, k := range rec.Recs {
				o.recs[d] = upgradeRecordKey(k)
			}
		case "m":
			o.recs[rec.Dev] = upgradeRecordKey(rec.Rec)
		case "r":
			if rec.R == nil {
				return 0, fmt.Errorf("%w at byte %d", errCorrupt, good)
			}
			r := *rec.R
			o.next = max(o.next, r.ID+1)
			if r.Seq < gatt.GlucoseRecordKeyBase {
				o.seqs[r.DeviceID] = max(o.seqs[r.DeviceID], r.Seq)
			}
			if r.Record > 0 {
				o.recs[r.DeviceID] = upgradeRecordKey(r.Record)
			}
			byID[r.ID] = len(o.pending)
			o.pending = append(o.pending, r)
		case "a":
			for _, id := range rec.IDs {
				if i, ok := byID[id]; ok {
					o.pending[i].ID = 0 // settled
					delete(byID, id)
					o.settled++
				}
			}
		}
		good += int64(nl) + 1
		data = data[nl+1:]
	}
	o.pending = slices.DeleteFunc(o.pending, func(r Reading) bool { return r.ID == 0 })
	return good, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

var errClosed = errors.New("outbox: closed")

// append writes lines and fsyncs them. o.mu held.
func (o *Outbox) append(lines []byte) error {
	if o.closed {
		return errClosed
	}
	_, err := o.f.Write(lines)
	if err == nil {
		err = o.f.Sync()
	}
	if err != nil {
		// The tail of the file is unknown now: stop, and let OpenOutbox
		// recover it (it cuts a torn line).
		o.closed = true
		o.f.Close()
		return fmt.Errorf("outbox: %w (closed; reopen to recover)", err)
	}
	return nil
}

// Enqueue gives value the device's next seq, max(last+1, at in Unix
// milliseconds), and stores it durably: when Enqueue returns nil the reading
// survives a crash.
func (o *Outbox) Enqueue(deviceID, char string, value []byte, at time.Time) (Reading, error) {
	return o.enqueue(deviceID, char, value, at, 0)
}

// EnqueueRecord is Enqueue for a glucose meter's stored record whose key
// (recordKey) is key: the key is the reading's seq, so the same record taken
// twice has the same seq. It leaves LastRecord alone (see MarkRecord).
func (o *Outbox) EnqueueRecord(deviceID, char string, value []byte, at time.Time, key int64) (Reading, error) {
	if key < gatt.GlucoseRecordKeyBase {
		return Reading{}, fmt.Errorf("outbox: %d is not a record key", key)
	}
	return o.enqueue(deviceID, char, value, at, key)
}

// enqueue stores a reading with seq key, or the device's next time-based
// seq when key is 0.
func (o *Outbox) enqueue(deviceID, char string, value []byte, at time.Time, key int64) (Reading, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seq := key
	if key == 0 {
		seq = max(o.seqs[deviceID]+1, at.UnixMilli())
	}
	r := Reading{
		ID:         o.next,
		DeviceID:   deviceID,
		Char:       char,
		Value:      fmt.Sprintf("%X", value),
		Seq:        seq,
		ObservedAt: at.UTC(),
	}
	line, err := encodeLine(record{K: "r", R: &r})
	if err == nil {
		err = o.append(line)
	}
	// On a failed append the write may or may not be on disk; never give
	// its id or seq again, so a later line cannot collide with it.
	o.next++
	if key == 0 {
		o.seqs[deviceID] = r.Seq
	}
	if err != nil {
		return Reading{}, err
	}
	o.pending = append(o.pending, r)
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return r, nil
}

// Pending returns up to n unsettled readings, oldest first.
func (o *Outbox) Pending(n int) []Reading {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.pending[:min(n, len(o.pending))])
}

// Len is the number of unsettled readings.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// LastSeq is the last seq given to the device (0 if none).
func (o *Outbox) LastSeq(deviceID string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seqs[deviceID]
}

// LastRecord is the key of the last glucose record taken from the device,
// and whether there is one.
func (o *Outbox) LastRecord(deviceID string) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k, ok := o.recs[deviceID]
	return k, ok
}

// MarkRecord durably makes key the last glucose record taken from the
// device. The caller marks a record only once every record up to it is
// enqueued.
func (o *Outbox) MarkRecord(deviceID string, key int64) error {
	if key < gatt.GlucoseRecordKeyBase {
		return fmt.Errorf("outbox: %d is not a record key", key)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	line, err := encodeLine(record{K: "m", Dev: deviceID, Rec: key})
	if err != nil {
		return err
	}
	if err := o.append(line); err != nil {
		return err
	}
	o.recs[deviceID] = key
	return nil
}

// upgradeRecordKey reads a last record as older logs wrote it (the record
// number plus one, 1..65536) as the key of a record of that number whose
// base time is unknown; a key is returned as is.
func upgradeRecordKey(k int64) int64 {
	if k >= gatt.GlucoseRecordKeyBase || k <= 0 {
		return k
	}
	return gatt.GlucoseRecordKey(uint16(k-1), gatt.DateTime{})
}

// Ready is signalled when readings may be pending.
func (o *Outbox) Ready() <-chan struct{} { return o.notify }

// DeadLetter is a reading the server rejected, and why.
type DeadLetter struct {
	Reading
	Reason string    `json:"reason"`
	At     time.Time `json:"deadAt"`
}

// Settle marks readings done durably: delivered ones (stored or duplicate)
// and dead ones, which are first appended to the dead-letter file.
func (o *Outbox) Settle(delivered []uint64, dead []DeadLetter) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errClosed
	}
	ids := slices.Clone(delivered)
	if len(dead) > 0 {
		var buf bytes.Buffer
		for _, d := range dead {
			js, err := json.Marshal(d)
			if err != nil {
				return err
			}
			buf.Write(js)
			buf.WriteByte('\n')
			ids = append(ids, d.ID)
		}
		if err := appendSync(filepath.Join(o.dir, deadName), buf.Bytes()); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	line, err := encodeLine(record{K: "a", IDs: ids})
	if err != nil {
		return err
	}
	if err := o.append(line); err != nil {
		return err
	}
	done := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		done[id] = true
	}
	before := len(o.pending)
	o.pending = slices.DeleteFunc(o.pending, func(r Reading) bool { return done[r.ID] })
	o.settled += before - len(o.pending)
	if o.settled >= o.CompactAfter {
		return o.compact()
	}
	return nil
}

func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Compact rewrites the log without settled readings.
func (o *Outbox) Compact() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errClosed
	}
	return o.compact()
}

// compact writes checkpoint + pending to a temp file, fsyncs it, renames it
// over the log and fsyncs the directory. o.mu held.
func (o *Outbox) compact() error {
	tmp := filepath.Join(o.dir, logName+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	line, err := encodeLine(record{K: "c", Next: o.next, Seqs: o.seqs, Recs: o.recs})
	if err != nil {
		return fail(err)
	}
	w.Write(line)
	for i := range o.pending {
		line, err := encodeLine(record{K: "r", R: &o.pending[i]})
		if err != nil {
			return fail(err)
		}
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, logName)); err != nil {
		return fail(err)
	}
	if err := syncDir(o.dir); err != nil {
		f.Close()
		return err
	}
	o.f.Close()
	o.f = f // positioned at its end
	o.settled = 0
	return nil
}

// Close closes the log; later calls fail.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return o.f.Close()
}
