package main

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
	"vclinic/scheduler"
)

// BenchmarkStatsYear answers the review statistics of a year of a
// 50-clinician clinic: 50 clinicians in 5 departments, 220 working days,
// 10 visits a day each (110,000 visits of 5,000 patients; 85 % held with
// arrival, admission and end in their history, 5 % no-shows, 10 %
// cancelled), each expecting a weight sent the day before, by each
// grouping. The history is written straight into the tables (booking it
// through the store would take most of an hour); the statistics read it
// as they read a real clinic's. See BENCHMARKS.md.
func BenchmarkStatsYear(b *testing.B) {
	for _, be := range recordstest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			sc := openStatsClinic(b, be)
			visits := generateYear(b, sc)
			for _, by := range []string{scheduler.ByDepartment, scheduler.ByClinician, scheduler.ByWeek, scheduler.ByMonth} {
				b.Run(by, func(b *testing.B) {
					q := scheduler.StatsQuery{From: scheduler.Date{Year: 2026, Month: 1, Day: 1}, To: scheduler.Date{Year: 2026, Month: 12, Day: 31}, By: by}
					for b.Loop() {
						rep, err := sc.sched.Stats(sc.ctx, sc.admin, q, kitFigures{sc.kit})
						if err != nil {
							b.Fatal(err)
						}
						n := 0
						for _, g := range rep.Groups {
							if g.Booked != nil {
								n += *g.Booked
							}
						}
						if n != visits {
							b.Fatalf("%d visits counted, want %d", n, visits)
						}
					}
				})
			}
		})
	}
}

// generateYear writes the year's history and answers how many visits.
func generateYear(b *testing.B, sc *statsClinic) int {
	b.Helper()
	ctx := context.Background()
	ts := sc.db.Dialect().TS
	const clinicians, days, perDay, patients = 50, 220, 10, 5000
	n := 0
	err := sc.db.InTx(ctx, "generate a year", func(tx *sql.Tx) error {
		exec := func(q string, args ...any) {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				panic(fmt.Sprintf("%s: %v", q, err))
			}
		}
		created := time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)
		exec(`INSERT INTO appointment_types (id, name, duration_ms, buffer_before_ms, buffer_after_ms, min_notice_ms, horizon_ms, created_at, name_da, name_en, expected)
			VALUES ('kontrol', 'Follow-up', 1800000, 0, 0, 0, 0, $1, 'Kontrol', 'Follow-up', '29463-7')`, ts(created))
		for p := range patients {
			exec(`INSERT INTO patients (id, name, contact, created_at) VALUES ($1, $2, '', $3)`, fmt.Sprintf("p%04d", p), "Patient", ts(created))
		}
		for c := range clinicians {
			exec(`INSERT INTO clinicians (id, name, department, zone, created_at) VALUES ($1, $2, $3, 'Europe/Copenhagen', $4)`,
				fmt.Sprintf("c%02d", c), fmt.Sprintf("Dr. %02d", c), fmt.Sprintf("dept%d", c%5), ts(created))
		}
		day := time.Date(2026, 1, 5, 0, 0, 0, 0, cph)
		for d := 0; d < days; {
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				day = day.AddDate(0, 0, 1)
				continue
			}
			for c := range clinicians {
				for v := range perDay {
					id := fmt.Sprintf("a%03d%02d%02d", d, c, v)
					patient := fmt.Sprintf("p%04d", (d*clinicians*perDay+c*perDay+v)%patients)
					start := day.Add(time.Duration(8*60+v*40) * time.Minute)
					end := start.Add(30 * time.Minute)
					status := "fulfilled"
					switch v {
					case 3:
						status = "noshow"
					case 7:
						status = "cancelled"
					}
					if v == 9 && c%2 == 0 {
						status = "cancelled"
					}
					exec(`INSERT INTO appointments (id, clinician_id, patient_id, type_id, start_at, end_at, buffer_before_ms, buffer_after_ms,
						occ_start, occ_end, status, status_reason, sequence, created_at, updated_at)
						VALUES ($1, $2, $3, 'kontrol', $4, $5, 0, 0, $4, $5, $6, '', 0, $7, $7)`,
						id, fmt.Sprintf("c%02d", c), patient, ts(start), ts(end), status, ts(created))
					hist := func(st string, at time.Time) {
						exec(`INSERT INTO appointment_history (appointment_id, status, at, by_id, by_role) VALUES ($1, $2, $3, 'x', 'system')`, id, st, ts(at))
						// As the store's writeHistory does: the first of
						// each kept on the appointment.
						if col := map[string]string{"arrived": "arrived_at", "checked-in": "admitted_at", "fulfilled": "ended_at"}[st]; col != "" {
							exec(`UPDATE appointments SET `+col+` = $1 WHERE id = $2`, ts(at), id)
						}
					}
					hist("booked", created)
					switch status {
					case "fulfilled":
						hist("arrived", start.Add(-time.Duration(v*37)*time.Second))
						hist("checked-in", start.Add(time.Duration(c*7)*time.Second))
						hist("fulfilled", start.Add(time.Duration(15+v)*time.Minute))
					default:
						hist(status, end.Add(time.Hour))
					}
					exec(`INSERT INTO homekit_expected (appointment_id, patient_id, code) VALUES ($1, $2, '29463-7')`, id, patient)
					rid := "r" + id
					exec(`INSERT INTO homekit_readings (id, patient_id, source, submitted_by, observed_at, received_at, flags)
						VALUES ($1, $2, 'patient-entered', $2, $3, $3, '')`, rid, patient, ts(start.Add(-20*time.Hour)))
					exec(`INSERT INTO homekit_measurements (reading_id, idx, code, mdc, value, unit, absent, implausible, implausible_reason)
						VALUES ($1, 0, '29463-7', 188736, '80.5', 'kg', '', false, '')`, rid)
					n++
				}
			}
			d++
			day = day.AddDate(0, 0, 1)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
