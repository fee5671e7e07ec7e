package homekit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records/recordstest"
)

// BenchmarkIngest stores new blood pressure readings (4 measurements each)
// in batches of 1 and 50 on each store and reports readings per second. Each
// batch is one transaction with the audit entry. The PostgreSQL cluster the
// tests start runs with fsync off. The /limits variants give the patient
// limits for systolic, diastolic and pulse, so that every measurement is
// judged against them (limits.go) and half the readings are flagged.
func BenchmarkIngest(b *testing.B) {
	for _, be := range recordstest.Backends() {
		for _, size := range []int{1, 50} {
			for _, limits := range []bool{false, true} {
				name := fmt.Sprintf("%s/batch=%d", be.Name, size)
				if limits {
					name += "/limits"
				}
				b.Run(name, func(b *testing.B) { benchIngest(b, be, size, limits) })
			}
		}
	}
}

func benchIngest(b *testing.B, be recordstest.Backend, size int, limits bool) {
	s := openStore(b, be, Config{})
	ctx := context.Background()
	if limits {
		if _, err := s.SetWatch(ctx, Actor{ID: "bench", Role: "clinician"}, Watch{Owner: WatchOfPatient, OwnerID: "pat-bench",
			Limits: []Limit{{Code: gatt.LOINCSystolic, High: num("140")}, {Code: gatt.LOINCDiastolic, High: num("79")},
				{Code: gatt.LOINCHeartRate, Low: num("50"), High: num("110")}}}); err != nil {
			b.Fatal(err)
		}
	}
	dev, err := s.AddDevice(ctx, Actor{ID: "bench", Role: "admin"}, Device{PatientID: "pat-bench",
		Kind: gatt.KindBloodPressure, Address: "00-1C-05-FF-E8-74", IdentifiedBy: ByBluetoothAddress})
	if err != nil {
		b.Fatal(err)
	}
	who := Submitter{PatientID: "pat-bench", Role: "patient"}
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	batch := make([]ReadingIn, size)
	var n int64
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = ReadingIn{DeviceID: dev.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(n), ObservedAt: observed}
		}
		res, err := s.Ingest(ctx, who, batch, now)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Status != StatusStored {
			b.Fatal(res[0])
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
}
