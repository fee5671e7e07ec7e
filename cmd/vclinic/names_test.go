package main

import (
	"testing"

	"vclinic/homekit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// TestSharedNames holds equal the names that several parts must agree on but
// cannot share, because the import rules keep the parts apart: signaling
// mints and reads the tokens that carry the roles and reads the session
// cookie, scheduler sets the cookie and keeps staff roles, homekit checks
// roles on its routes.
func TestSharedNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		copies []string
	}{
		{"clinician role", []string{signaling.RoleClinician, scheduler.RoleClinician, homekit.RoleClinician}},
		{"scheduler role", []string{signaling.RoleScheduler, scheduler.RoleScheduler, homekit.RoleScheduler}},
		{"admin role", []string{signaling.RoleAdmin, scheduler.RoleAdmin, homekit.RoleAdmin}},
		{"patient role", []string{signaling.RolePatient, scheduler.RolePatient, homekit.RolePatient}},
		{"relative role", []string{signaling.RoleRelative, scheduler.RoleRelative}},
		{"interpreter role", []string{signaling.RoleInterpreter, scheduler.RoleInterpreter}},
		{"gateway role", []string{signaling.RoleGateway, homekit.RoleGateway}},
		{"session cookie", []string{signaling.SessionCookie, scheduler.SessionCookie}},
	} {
		for _, c := range tc.copies[1:] {
			if c != tc.copies[0] {
				t.Errorf("%s: copies %q differ", tc.name, tc.copies)
			}
		}
	}
}
