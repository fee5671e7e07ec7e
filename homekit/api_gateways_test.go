package homekit

import (
	"net/http"
	"testing"
)

func TestAPIRegisterGateway(t *testing.T) {
	f := newAPIFixture(t)
	if code, v := f.do("POST", "/api/v1/patients/pat-ida/gateways", "patient:pat-ida", `{"id":"gw-new"}`); code != http.StatusForbidden {
		t.Fatalf("patient registers a gateway: %d %v, want 403", code, v)
	}
	code, v := f.do("POST", "/api/v1/patients/pat-ida/gateways", "scheduler:u2", `{"id":"gw-new","label":"Hall"}`)
	if code != http.StatusCreated || v["id"] != "gw-new" || v["patientId"] != "pat-ida" {
		t.Fatalf("register: %d %v", code, v)
	}
	// The new gateway may now post to the patient's kit.
	one := batchJSON(item(f.therm.ID, "2A1C", hexTemp3760, 1, observed))
	code, v = f.do("POST", "/api/v1/readings", "gateway:gw-new", one)
	if code != http.StatusOK {
		t.Fatalf("gateway posts: %d %v", code, v)
	}
	if r := v["results"].([]any)[0].(map[string]any); r["status"] != StatusStored {
		t.Fatalf("result %v", r)
	}
	if code, v := f.do("POST", "/api/v1/patients/pat-ida/gateways", "scheduler:u2", `{"colour":"red"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %v, want 400", code, v)
	}
}
