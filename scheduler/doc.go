// Package scheduler owns the clinic's calendar records: clinicians and their
// availability, patients, appointment types, appointments and their invitation
// links, the audit log of who touched which patient's data, and the FHIR and
// iCalendar views of them. It knows nothing of WebSockets or media.
package scheduler
