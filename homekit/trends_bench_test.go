package homekit

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records/recordstest"
)

// BenchmarkTrends30Days reads the trends of a patient whose four devices
// (blood pressure monitor, pulse oximeter, thermometer, heart-rate sensor)
// sent a reading every 15 minutes for 30 days: 11,520 readings, 25,920
// values. The goal is the call page's trends in under 100 ms, server and
// browser together (BENCHMARKS.md).
func BenchmarkTrends30Days(b *testing.B) {
	for _, be := range recordstest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := openStore(b, be, Config{})
			ctx := context.Background()
			now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			staff := Actor{ID: "bench", Role: "clinician"}
			who := Submitter{PatientID: "pat-bench", Role: "patient"}
			add := func(kind gatt.DeviceKind) Device {
				d, err := s.AddDevice(ctx, staff, Device{PatientID: "pat-bench", Kind: kind,
					Address: "00-1C-05-FF-E8-7" + string(rune('0'+len(kind)%10)), IdentifiedBy: ByBluetoothAddress})
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			bp, oxi, therm, hr := add(gatt.KindBloodPressure), add(gatt.KindPulseOximeter), add(gatt.KindThermometer), add(gatt.KindHeartRate)
			const every = 15 * time.Minute
			n := int(30 * 24 * time.Hour / every)
			var batch []ReadingIn
			var sq int64
			flush := func() {
				if len(batch) == 0 {
					return
				}
				if _, err := s.Ingest(ctx, who, batch, now); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
			for i := range n {
				at := now.Add(-time.Duration(n-i) * every).Format(time.RFC3339)
				v := i % 20
				temp := []byte{0x00, byte(365 + v%8), 0x01, 0x00, 0xFF} // 36.5-37.2 Cel (FLOAT, exponent -1)
				for _, r := range []ReadingIn{
					{DeviceID: bp.ID, Characteristic: "2A35", Value: bpHex(115+v, 75+v/2, 60+v)},
					{DeviceID: oxi.ID, Characteristic: "2A5F", Value: hex.EncodeToString([]byte{0x00, byte(94 + v%5), 0x00, byte(60 + v), 0x00})},
					{DeviceID: therm.ID, Characteristic: "2A1C", Value: hex.EncodeToString(temp)},
					{DeviceID: hr.ID, Characteristic: "2A37", Value: hex.EncodeToString([]byte{0x00, byte(58 + v)})},
				} {
					sq++
					r.Seq, r.ObservedAt = seq(sq), at
					batch = append(batch, r)
				}
				if len(batch) >= 400 {
					flush()
				}
			}
			flush()
			tr, err := s.Trends(ctx, staff, "pat-bench", 30, now)
			if err != nil {
				b.Fatal(err)
			}
			// Blood pressure pairs, pulse (from three devices), SpO2 and
			// temperature, each in every bucket.
			points, codes := 0, ""
			for _, sr := range tr.Series {
				points += len(sr.Points)
				codes += sr.Code + " "
			}
			if codes != "59408-5 8310-5 85354-9 8867-4 " || points != 4*TrendBuckets {
				b.Fatalf("series %s with %d points: the seed is not what it should be", codes, points)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Trends(ctx, staff, "pat-bench", 30, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(points), "points")
		})
	}
}
