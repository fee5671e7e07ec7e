package homekit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

// bpHex is a Blood Pressure Measurement (GATT 0x2A35) in mmHg with a pulse:
// flags 0x04, then systolic, diastolic, mean arterial pressure and pulse as
// SFLOATs (exponent 0), little-endian.
func bpHex(sys, dia, pulse int) string {
	b := []byte{0x04}
	for _, v := range []int{sys, dia, (sys + 2*dia) / 3, pulse} {
		b = append(b, byte(v), byte(v>>8))
	}
	return hex.EncodeToString(b)
}

func testTrends(t *testing.T, f *fixture) {
	at := func(d time.Duration) string { return f.now.Add(-d).Format(time.RFC3339) }
	f.ingest(f.ida,
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: bpHex(130, 85, 70), Seq: seq(1), ObservedAt: at(29 * 24 * time.Hour)},
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: bpHex(118, 76, 64), Seq: seq(2), ObservedAt: at(40 * 24 * time.Hour)}, // before the period
		ReadingIn{DeviceID: f.oxi.ID, Characteristic: "2A5F", Value: "0061005000", Seq: seq(3), ObservedAt: at(10 * 24 * time.Hour)},      // SpO2 97, pulse 80
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: bpHex(120, 80, 72), Seq: seq(4), ObservedAt: at(60 * time.Minute)},
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: bpHex(140, 90, 75), Seq: seq(5), ObservedAt: at(55 * time.Minute)},
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP400, Seq: seq(6), ObservedAt: at(50 * time.Minute)}, // implausible systolic
	)
	if _, err := f.s.AddManual(f.ctx, f.ida, ManualReading{ObservedAt: f.now.Add(-3 * 24 * time.Hour),
		Values: []ManualValue{{Code: gatt.LOINCBodyTemperature, Value: "37.2", Unit: gatt.UnitCelsius}}}, f.now); err != nil {
		t.Fatal(err)
	}
	before := len(must(readAudit(f.ctx, f.s, "pat-ida")))
	tr, err := f.s.Trends(f.ctx, f.staff, "pat-ida", 30, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(must(readAudit(f.ctx, f.s, "pat-ida"))); got != before+1 {
		t.Errorf("reading trends wrote %d audit rows, want 1", got-before)
	}
	if tr.Bucket != "2h0m0s" || !tr.To.Equal(f.now) || !tr.From.Equal(f.now.Add(-30*24*time.Hour)) {
		t.Errorf("period %v to %v, bucket %s", tr.From, tr.To, tr.Bucket)
	}
	series := map[string]TrendSeries{}
	for _, s := range tr.Series {
		series[s.Code] = s
	}
	point := func(p TrendPoint) string {
		s := fmt.Sprintf("%g", p.Value)
		if p.Value2 != nil {
			s += fmt.Sprintf("/%g", *p.Value2)
		}
		return fmt.Sprintf("%s [%g-%g n%d] %s", s, p.Min, p.Max, p.N, p.Source)
	}
	check := func(code string, want ...string) {
		t.Helper()
		s := series[code]
		var got []string
		for _, p := range s.Points {
			got = append(got, point(p))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
	// Blood pressure in pairs: the implausible systolic leaves its reading
	// out; the two readings of the last hour share a bucket, the newest
	// shown, the range over both.
	check("85354-9", "130/85 [85-130 n1] bluetooth", "140/90 [80-140 n2] bluetooth")
	// The pulse from every device; the newest in a bucket names its device.
	check("8867-4", "70 [70-70 n1] bluetooth", "80 [80-80 n1] bluetooth", "75 [72-75 n2] bluetooth")
	check("59408-5", "97 [97-97 n1] bluetooth")
	check("8310-5", "37.2 [37.2-37.2 n1] typed")
	if last := series["8867-4"].Points[2]; last.DeviceID != f.bp.ID || last.ReadingID == "" || !last.At.Equal(f.now.Add(-55*time.Minute)) {
		t.Errorf("the newest pulse: %+v", last)
	}
	if series["85354-9"].Unit != gatt.UnitMmHg || series["8310-5"].Unit != gatt.UnitCelsius {
		t.Errorf("units: %q, %q", series["85354-9"].Unit, series["8310-5"].Unit)
	}
	for _, code := range []string{"8480-6", "8462-4", "8478-0"} {
		if _, ok := series[code]; ok {
			t.Errorf("%s has a series of its own", code)
		}
	}
	// Another patient's are their own; a bad period is refused.
	if other, err := f.s.Trends(f.ctx, f.staff, "pat-bo", 30, f.now); err != nil || len(other.Series) != 0 {
		t.Errorf("Bo's trends: %+v, %v", other, err)
	}
	for _, days := range []int{0, -1, MaxTrendDays + 1} {
		if _, err := f.s.Trends(f.ctx, f.staff, "pat-ida", days, f.now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d days: %v, want ErrInvalid", days, err)
		}
	}
}
