package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/bluetoothemulation"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/deviceaccess"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// bluetoothPage opens url in its own headless Chromium with Web Bluetooth
// and its DevTools emulation (BluetoothEmulation) available.
func bluetoothPage(t testing.TB, url string) context.Context {
	t.Helper()
	path := requireBrowser(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("enable-experimental-web-platform-features", true),
		// Replaces chromedp's own list, so its entries are repeated.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		chromedp.WindowSize(375, 812),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	return ctx
}

// gattUUID is the full form of a 16-bit Bluetooth SIG UUID.
func gattUUID(short string) string {
	return "0000" + strings.ToLower(short) + "-0000-1000-8000-00805f9b34fb"
}

// emulatedChar is one characteristic of an emulated peripheral.
type emulatedChar struct {
	uuid  string // 16-bit, "2A35"
	props bluetoothemulation.CharacteristicProperties
	// value, when set, answers every read (Device Information); otherwise a
	// read answers with the next value queued for the characteristic.
	value []byte
}

// emulatedService is one GATT service of an emulated peripheral.
type emulatedService struct {
	uuid  string // 16-bit, "1810"
	chars []emulatedChar
}

// emulatedPeripheral answers the browser's operations on one emulated
// peripheral: connections and discovery succeed, subscriptions and writes
// succeed (writes are kept), a read gives the characteristic's fixed value
// or the next value queued for it.
type emulatedPeripheral struct {
	t        testing.TB
	ctx      context.Context
	address  string
	services []emulatedService

	mu     sync.Mutex
	uuidOf map[string]string // characteristic id -> 16-bit UUID
	fixed  map[string][]byte // by UUID
	reads  map[string][][]byte
	writes map[string][][]byte
	ops    []string
}

func (p *emulatedPeripheral) note(op string) {
	p.mu.Lock()
	p.ops = append(p.ops, op)
	p.mu.Unlock()
}

func (p *emulatedPeripheral) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.ops, ", ")
}

// queueRead sets the value the next read of characteristic uuid answers with.
func (p *emulatedPeripheral) queueRead(uuid string, b []byte) {
	p.mu.Lock()
	p.reads[uuid] = append(p.reads[uuid], b)
	p.mu.Unlock()
}

// written is what the page wrote to characteristic uuid, in order.
func (p *emulatedPeripheral) written(uuid string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.writes[uuid])
}

// disconnect drops the GATT connection, as a device turned off or out of
// range does. The browser forgets the device's services with the
// connection; they are offered again for the next discovery, as the device
// does when it is back.
func (p *emulatedPeripheral) disconnect() {
	p.t.Helper()
	p.note("disconnect")
	if _, err := chromedp.CallBrowser(p.ctx, bluetoothemulation.SimulateGATTDisconnection,
		bluetoothemulation.SimulateGATTDisconnectionParams{Address: p.address}); err != nil {
		p.t.Fatalf("simulateGATTDisconnection: %v", err)
	}
	p.addServices()
}

// addServices gives the emulated peripheral its services and
// characteristics; a characteristic that notifies or indicates gets its
// 0x2902 descriptor, or startNotifications() fails.
func (p *emulatedPeripheral) addServices() {
	t, ctx := p.t, p.ctx
	t.Helper()
	for _, sv := range p.services {
		svc, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddService,
			bluetoothemulation.AddServiceParams{Address: p.address, ServiceUUID: gattUUID(sv.uuid)})
		if err != nil {
			t.Fatalf("addService %s: %v", sv.uuid, err)
		}
		for _, c := range sv.chars {
			props := c.props
			ch, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddCharacteristic, bluetoothemulation.AddCharacteristicParams{
				ServiceID: svc.ServiceID, CharacteristicUUID: gattUUID(c.uuid), Properties: &props})
			if err != nil {
				t.Fatalf("addCharacteristic %s: %v", c.uuid, err)
			}
			p.mu.Lock()
			p.uuidOf[ch.CharacteristicID] = c.uuid
			if c.value != nil {
				p.fixed[c.uuid] = c.value
			}
			p.mu.Unlock()
			if props.Notify || props.Indicate {
				if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddDescriptor, bluetoothemulation.AddDescriptorParams{
					CharacteristicID: ch.CharacteristicID, DescriptorUUID: gattUUID("2902")}); err != nil {
					t.Fatalf("addDescriptor: %v", err)
				}
			}
		}
	}
}

func (p *emulatedPeripheral) answer(ev any) {
	// Listen's callback must not send commands: answer from a goroutine.
	switch e := ev.(type) {
	case *bluetoothemulation.EventGattOperationReceived:
		if e.Address != p.address {
			return
		}
		p.note("gatt " + string(e.Type))
		go func() {
			_, err := chromedp.CallBrowser(p.ctx, bluetoothemulation.SimulateGATTOperationResponse,
				bluetoothemulation.SimulateGATTOperationResponseParams{Address: e.Address, Type: e.Type, Code: 0})
			if err != nil && p.ctx.Err() == nil {
				p.t.Logf("answer GATT %s: %v", e.Type, err)
			}
		}()
	case *bluetoothemulation.EventCharacteristicOperationReceived:
		p.mu.Lock()
		uuid := p.uuidOf[e.CharacteristicID]
		p.ops = append(p.ops, "characteristic "+uuid+" "+string(e.Type))
		params := bluetoothemulation.SimulateCharacteristicOperationResponseParams{
			CharacteristicID: e.CharacteristicID, Type: e.Type, Code: 0}
		switch e.Type {
		case bluetoothemulation.CharacteristicOperationTypeRead:
			if v, ok := p.fixed[uuid]; ok {
				params.Data = v
			} else if q := p.reads[uuid]; len(q) > 0 {
				params.Data, p.reads[uuid] = q[0], q[1:]
			} else {
				params.Data = []byte{0}
			}
		case bluetoothemulation.CharacteristicOperationTypeWrite:
			p.writes[uuid] = append(p.writes[uuid], e.Data)
		}
		p.mu.Unlock()
		go func() {
			_, err := chromedp.CallBrowser(p.ctx, bluetoothemulation.SimulateCharacteristicOperationResponse, params)
			if err != nil && p.ctx.Err() == nil {
				p.t.Logf("answer characteristic %s: %v", e.Type, err)
			}
		}()
	case *bluetoothemulation.EventDescriptorOperationReceived:
		p.note("descriptor " + string(e.Type))
		params := bluetoothemulation.SimulateDescriptorOperationResponseParams{DescriptorID: e.DescriptorID, Type: e.Type, Code: 0}
		if e.Type == bluetoothemulation.DescriptorOperationTypeRead {
			params.Data = []byte{0, 0}
		}
		go func() {
			_, err := chromedp.CallBrowser(p.ctx, bluetoothemulation.SimulateDescriptorOperationResponse, params)
			if err != nil && p.ctx.Err() == nil {
				p.t.Logf("answer descriptor %s: %v", e.Type, err)
			}
		}()
	}
}

// emulatePeripheral sets up a powered-on adapter with one preconnected
// peripheral offering services, answers its operations, and picks it in the
// page's device chooser.
func emulatePeripheral(t testing.TB, ctx context.Context, address, name string, services []emulatedService) *emulatedPeripheral {
	t.Helper()
	p := &emulatedPeripheral{t: t, ctx: ctx, address: address, services: services, uuidOf: map[string]string{},
		fixed: map[string][]byte{}, reads: map[string][][]byte{}, writes: map[string][][]byte{}}
	if err := chromedp.ListenBrowser(ctx, p.answer); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.Enable,
		bluetoothemulation.EnableParams{State: bluetoothemulation.CentralStatePoweredOn, LeSupported: true}); err != nil {
		t.Fatalf("BluetoothEmulation.enable: %v", err)
	}
	t.Cleanup(func() { _, _ = chromedp.CallBrowser(ctx, bluetoothemulation.Disable, cdp.Empty{}) })
	known := []string{gattUUID(services[0].uuid)}
	if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.SimulatePreconnectedPeripheral,
		bluetoothemulation.SimulatePreconnectedPeripheralParams{
			Address: address, Name: name,
			ManufacturerData:  []*bluetoothemulation.ManufacturerData{},
			KnownServiceUUIDs: known,
		}); err != nil {
		t.Fatalf("simulatePreconnectedPeripheral: %v", err)
	}
	p.addServices()

	// The chooser: pick the device as soon as it is listed.
	var once sync.Once
	if err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*deviceaccess.EventDeviceRequestPrompted)
		if !ok || len(e.Devices) == 0 {
			return
		}
		p.note("chooser")
		once.Do(func() {
			go func() {
				_, err := chromedp.Call(ctx, deviceaccess.SelectPrompt,
					deviceaccess.SelectPromptParams{ID: e.ID, DeviceID: e.Devices[0].ID})
				if err != nil && ctx.Err() == nil {
					t.Logf("DeviceAccess.selectPrompt: %v", err)
				}
			}()
		})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, deviceaccess.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("DeviceAccess.enable: %v", err)
	}
	return p
}

// notifyRead is what a measurement characteristic offers: notifications,
// and reads so that a test can make the page receive a value.
var notifyRead = bluetoothemulation.CharacteristicProperties{Read: true, Notify: true}

// emulateBloodPressureMonitor emulates a blood-pressure monitor (service
// 0x1810, Blood Pressure Measurement 0x2A35), with a Device Information
// Service giving systemID when it is not nil.
func emulateBloodPressureMonitor(t testing.TB, ctx context.Context, systemID []byte) *emulatedPeripheral {
	t.Helper()
	services := []emulatedService{{uuid: "1810", chars: []emulatedChar{{uuid: "2A35", props: notifyRead}}}}
	if systemID != nil {
		read := bluetoothemulation.CharacteristicProperties{Read: true}
		services = append(services, emulatedService{uuid: "180A", chars: []emulatedChar{
			{uuid: "2A23", props: read, value: systemID},
			{uuid: "2A29", props: read, value: []byte("Acme Health")},
			{uuid: "2A24", props: read, value: []byte("BP-2000\x00")},
		}})
	}
	return emulatePeripheral(t, ctx, "09:09:09:09:09:09", "BP Monitor", services)
}

// pairDevice clicks the page's pair button (requestDevice needs the user's
// gesture) and waits until the page reports the device connected.
func pairDevice(t testing.TB, ctx context.Context, p *emulatedPeripheral, ok func([]pairedDevice) bool) []pairedDevice {
	t.Helper()
	pair := `button[data-action="pair-device"]`
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := chromedp.Do(cctx, chromedp.WaitVisible(pair), chromedp.Click(pair))
	cancel()
	if err != nil {
		t.Fatalf("click %s: %v", pair, err)
	}
	return waitDevices(t, ctx, "the device connected", 15*time.Second, ok, p)
}

// readDevices makes the page read its connected characteristics; each
// value arrives as characteristicvaluechanged, as a notification would.
func readDevices(t testing.TB, ctx context.Context, p *emulatedPeripheral, want int) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	n, err := chromedp.Run(rctx, chromedp.Evaluate[int](`window.vclinic.readDevices()`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || n != want {
		t.Fatalf("readDevices: %d (want %d), %v; emulated operations: %s", n, want, err, p.log())
	}
}

// waitShown waits until the page shows sel.
func waitShown(t testing.TB, ctx context.Context, sel, what string) {
	t.Helper()
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := chromedp.Do(vctx, chromedp.WaitReady(sel))
	cancel()
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.vclinic && window.vclinic.vitals)`))
		t.Fatalf("%s: %s not shown: %v\n%s", what, sel, err, state)
	}
}

// pairedDevice is what the page reports about a paired device.
type pairedDevice struct {
	Name       string  `json:"name"`
	KitDevice  string  `json:"kitDevice"`
	By         string  `json:"by"`
	SystemID   string  `json:"systemId"`
	Connected  bool    `json:"connected"`
	LastValue  string  `json:"lastValue"`
	LastStatus string  `json:"lastStatus"`
	LastVia    string  `json:"lastVia"`
	LastSentAt float64 `json:"lastSentAt"`
}

// waitDevices polls the patient's page until ok holds for its paired devices.
func waitDevices(t testing.TB, ctx context.Context, what string, within time.Duration, ok func([]pairedDevice) bool, p *emulatedPeripheral) []pairedDevice {
	t.Helper()
	deadline := time.Now().Add(within)
	var last []pairedDevice
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := chromedp.Run(ectx, chromedp.Evaluate[[]pairedDevice](`window.vclinic ? window.vclinic.devices : []`))
		cancel()
		if err == nil {
			last = got
			if ok(got) {
				return got
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('home-devices') || {innerText: 'no panel'}).innerText`))
	t.Fatalf("patient page: %s not within %s; devices %+v; panel %q; emulated operations: %s", what, within, last, status, p.log())
	return nil
}

// TestWebBluetoothReadingReachesClinician: the patient pairs a Bluetooth
// blood-pressure monitor on the visit page (emulated by Chromium's DevTools),
// the monitor sends a measurement, and the clinician's call page shows it.
// The demo kit has no web-bluetooth-id entry, so the page files the reading
// under the kit's blood-pressure monitor (matched by type).
func TestWebBluetoothReadingReachesClinician(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en") // the checks read the patient page's English words
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)

	pat := bluetoothPage(t, rc.patient)
	waitState(t, pat, "patient", "waiting")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, pat, "patient", "in-call")

	if ok, err := chromedp.Run(pat, chromedp.Evaluate[bool](`!!navigator.bluetooth`)); err != nil || !ok {
		t.Fatalf("navigator.bluetooth is missing in Chromium with experimental web platform features (%v)", err)
	}
	monitor := emulateBloodPressureMonitor(t, pat, nil)
	pairDevice(t, pat, monitor, func(d []pairedDevice) bool {
		return len(d) == 1 && d[0].Name == "BP Monitor" && d[0].By == "type" && d[0].Connected
	})
	connected, _ := chromedp.Run(pat, chromedp.Evaluate[string](`document.querySelector('#home-devices .devices-status').textContent`))
	if connected != "Connected: BP Monitor" {
		t.Errorf("status line %q, want %q", connected, "Connected: BP Monitor")
	}

	// 120/80 mmHg, mean 93, pulse 72: the value reaches the page through
	// characteristicvaluechanged, as a notification would. In the call it
	// goes over the signaling socket.
	monitor.queueRead("2A35", []byte{0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x48, 0x00})
	sent := time.Now()
	readDevices(t, pat, monitor, 1)
	waitDevices(t, pat, "the reading stored", 10*time.Second, func(d []pairedDevice) bool {
		return len(d) == 1 && d[0].LastValue == "04780050005D004800" && d[0].LastStatus == "stored" && d[0].LastVia == "socket"
	}, monitor)
	waitShown(t, clin, `[data-code="8480-6"][data-value="120"]`, "the clinician's page")
	// The patient sees the value in the call too, but not the mean
	// pressure derived from it: that is for the clinician.
	waitShown(t, pat, `[data-code="8480-6"][data-value="120"]`, "the patient's page")
	waitShown(t, clin, `[data-code="8478-0"]`, "the mean arterial pressure on the clinician's page")
	if n, _ := chromedp.Run(pat, chromedp.Evaluate[int](`document.querySelectorAll('#vitals [data-code="8478-0"]').length`)); n != 0 {
		t.Errorf("the patient's page shows the mean arterial pressure")
	}
	t.Logf("read to shown on the clinician's page: %s; emulated operations: %s", time.Since(sent), monitor.log())
}

// TestManualReadingWithoutWebBluetooth: in a browser without Web Bluetooth
// (as on an iPhone or in Firefox) the visit page says so in plain words, and
// a temperature the patient types reaches the clinician's page.
func TestManualReadingWithoutWebBluetooth(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en") // the checks read the patient page's English words
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)

	pat := chromiumPage(t, rc.patient)
	// No Web Bluetooth from here on; the reload keeps the link's token.
	if _, err := chromedp.Call(pat, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete Navigator.prototype.bluetooth; delete navigator.bluetooth;`}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(pat, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitState(t, pat, "patient", "waiting")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, pat, "patient", "in-call")

	// The form waits behind its button until the patient opens it.
	form := `form[data-action="manual-reading"]`
	ctx, cancel := context.WithTimeout(pat, 10*time.Second)
	err := chromedp.Do(ctx, chromedp.WaitVisible(`[data-action="open-manual"][aria-expanded="false"]`))
	if err == nil {
		if shown, _ := chromedp.Run(pat, chromedp.Evaluate[bool](`!document.querySelector('`+form+`').hidden`)); shown {
			t.Error("the type-in form shows before the patient or the clinician asks for it")
		}
		err = chromedp.Do(ctx, chromedp.Click(`[data-action="open-manual"]`))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.WaitVisible(form))
	}
	cancel()
	if err != nil {
		t.Fatalf("no manual entry form: %v", err)
	}
	text, _ := chromedp.Run(pat, chromedp.Evaluate[string](`document.getElementById('home-devices').innerText`))
	if !strings.Contains(text, "This browser cannot connect to measuring devices. You can type the result instead, or use the home box.") {
		t.Fatalf("the page does not explain the missing Web Bluetooth: %q", text)
	}
	if n, _ := chromedp.Run(pat, chromedp.Evaluate[int](`document.querySelectorAll('[data-action="pair-device"]').length`)); n != 0 {
		t.Fatalf("a pair button in a browser without Web Bluetooth")
	}
	ctx, cancel = context.WithTimeout(pat, 10*time.Second)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#manual-temperature`, "38.4"),
		chromedp.Click(form+` button[type="submit"]`),
		chromedp.WaitVisible(`.manual-result[data-result="sent"]`),
	)
	cancel()
	if err != nil {
		res, _ := chromedp.Run(pat, chromedp.Evaluate[string](`(document.querySelector('.manual-result') || {textContent: ''}).textContent`))
		t.Fatalf("send the typed temperature: %v (%q)", err, res)
	}
	shown := `[data-code="8310-5"][data-value="38.4"]`
	vctx, cancelV := context.WithTimeout(clin, 10*time.Second)
	err = chromedp.Do(vctx, chromedp.WaitReady(shown))
	cancelV()
	if err != nil {
		html, _ := chromedp.Run(clin, chromedp.Evaluate[string](`JSON.stringify(window.vclinic && window.vclinic.vitals)`))
		t.Fatalf("the clinician's page does not show the typed temperature: %v\n%s", err, html)
	}
	typed, _ := chromedp.Run(clin, chromedp.Evaluate[bool](
		`window.vclinic.vitals.some(v => v.code === '8310-5' && v.value === '38.4' && v.source === 'patient-entered')`))
	if !typed {
		t.Fatal("the typed temperature is not marked patient-entered")
	}
}

// patientOf is the patient of an appointment, as the clinician reads it.
func (rc *runningClinic) patientOf(t testing.TB, apptID, token string) string {
	t.Helper()
	var appt struct {
		PatientID string `json:"patientId"`
	}
	if status := rc.api(t, "GET", "/api/v1/appointments/"+apptID, token, "", &appt); status != 200 || appt.PatientID == "" {
		t.Fatalf("appointment %s: %d, patient %q", apptID, status, appt.PatientID)
	}
	return appt.PatientID
}

// addKitDevice adds a device to a patient's kit and gives its id.
func (rc *runningClinic) addKitDevice(t testing.TB, patientID, token, body string) string {
	t.Helper()
	var dev struct {
		ID string `json:"id"`
	}
	if status := rc.api(t, "POST", "/api/v1/patients/"+patientID+"/devices", token, body, &dev); status != 201 || dev.ID == "" {
		t.Fatalf("add kit device %s: %d", body, status)
	}
	return dev.ID
}

// inVisit opens the demo patient's link in a Chromium with Web Bluetooth,
// admits the patient and opens the clinician's call page: the patient's and
// the clinician's page, in the call.
func inVisit(t testing.TB, rc *runningClinic, apptID, clinTok string) (pat, clin context.Context) {
	t.Helper()
	pat = bluetoothPage(t, rc.patient)
	waitState(t, pat, "patient", "waiting")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin = chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, pat, "patient", "in-call")
	waitState(t, clin, "clinician", "in-call")
	return pat, clin
}

// TestWebBluetoothSystemIDAndReconnect: the kit names a blood-pressure
// monitor by its System ID. The page reads the System ID from the monitor's
// Device Information Service, files the reading under that kit entry, and
// the server keeps how the device was identified. Then the monitor drops, as
// one turned off or carried out of range does: the page says it is
// reconnecting, reconnects on its own, and the next measurement reaches the
// clinician.
func TestWebBluetoothSystemIDAndReconnect(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en") // the checks read the patient page's English words
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	patientID := rc.patientOf(t, apptID, clinTok)
	// The System ID as the characteristic gives it; staff may type it with
	// separators.
	systemID := []byte{0xCD, 0xAB, 0x07, 0xFE, 0xFF, 0xDC, 0x1B, 0x00}
	kitID := rc.addKitDevice(t, patientID, clinTok,
		`{"type":"blood-pressure","model":"BP-2000","address":"cd:ab:07:fe:ff:dc:1b:00","identifiedBy":"system-id","label":"Blood pressure monitor (new)"}`)

	pat, clin := inVisit(t, rc, apptID, clinTok)
	monitor := emulateBloodPressureMonitor(t, pat, systemID)
	got := pairDevice(t, pat, monitor, func(d []pairedDevice) bool { return len(d) == 1 && d[0].Connected })
	if got[0].By != "system-id" || got[0].KitDevice != kitID || got[0].SystemID != "CDAB07FEFFDC1B00" {
		t.Fatalf("paired %+v; want kit device %s identified by system-id CDAB07FEFFDC1B00", got[0], kitID)
	}

	monitor.queueRead("2A35", []byte{0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x48, 0x00})
	readDevices(t, pat, monitor, 1)
	waitDevices(t, pat, "the reading stored", 10*time.Second, func(d []pairedDevice) bool {
		return d[0].LastValue == "04780050005D004800" && d[0].LastStatus == "stored"
	}, monitor)
	var list struct {
		Readings []struct {
			DeviceID     string            `json:"deviceId"`
			IdentifiedBy string            `json:"identifiedBy"`
			DeviceInfo   map[string]string `json:"deviceInfo"`
		} `json:"readings"`
	}
	if status := rc.api(t, "GET", "/api/v1/patients/"+patientID+"/readings", clinTok, "", &list); status != 200 {
		t.Fatalf("readings: %d", status)
	}
	found := false
	for _, r := range list.Readings {
		if r.DeviceID != kitID {
			continue
		}
		found = true
		if r.IdentifiedBy != "system-id" || r.DeviceInfo["systemId"] != "CDAB07FEFFDC1B00" ||
			r.DeviceInfo["model"] != "BP-2000" || r.DeviceInfo["manufacturer"] != "Acme Health" || r.DeviceInfo["webBluetoothId"] == "" {
			t.Errorf("stored reading: identified by %q, device info %v", r.IdentifiedBy, r.DeviceInfo)
		}
	}
	if !found {
		t.Fatalf("no reading of kit device %s in %+v", kitID, list.Readings)
	}

	monitor.disconnect()
	waitDevices(t, pat, "the drop noticed", 10*time.Second, func(d []pairedDevice) bool { return !d[0].Connected }, monitor)
	status, _ := chromedp.Run(pat, chromedp.Evaluate[string](`document.querySelector('#home-devices .devices-status').textContent`))
	if !strings.Contains(status, "Reconnecting") {
		t.Errorf("status line after the drop: %q", status)
	}
	waitDevices(t, pat, "reconnected", 20*time.Second, func(d []pairedDevice) bool { return d[0].Connected }, monitor)

	// 135/85 mmHg, mean 102, pulse 75, after the reconnect.
	monitor.queueRead("2A35", []byte{0x04, 0x87, 0x00, 0x55, 0x00, 0x66, 0x00, 0x4B, 0x00})
	readDevices(t, pat, monitor, 1)
	waitDevices(t, pat, "the reading after the reconnect stored", 10*time.Second, func(d []pairedDevice) bool {
		return d[0].LastValue == "048700550066004B00" && d[0].LastStatus == "stored"
	}, monitor)
	waitShown(t, clin, `[data-code="8480-6"][data-value="135"]`, "the clinician's page after the reconnect")
}

// TestWebBluetoothGlucoseMeterStoredRecords: a glucose meter keeps its
// measurements and sends them when asked through its Record Access Control
// Point. The page asks for all stored records when it connects; each record
// is stored once, even when the meter sends it again; the page tells the
// patient when the meter is done; and the clinician's checklist of expected
// measurements shows the glucose as arrived and the weight as not yet.
func TestWebBluetoothGlucoseMeterStoredRecords(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en") // the checks read the patient page's English words
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	patientID := rc.patientOf(t, apptID, clinTok)
	kitID := rc.addKitDevice(t, patientID, clinTok,
		`{"type":"glucose-meter","model":"GM-1","address":"0A:0A:0A:0A:0A:0A","identifiedBy":"bluetooth-address","label":"Glucose meter"}`)
	if status := rc.api(t, "PUT", "/api/v1/appointments/"+apptID+"/expected", clinTok,
		`{"patientId":"`+patientID+`","codes":["14743-9","29463-7"]}`, nil); status != 200 {
		t.Fatalf("expected measurements: %d", status)
	}

	pat, clin := inVisit(t, rc, apptID, clinTok)
	meter := emulatePeripheral(t, pat, "0A:0A:0A:0A:0A:0A", "Glucose Meter", []emulatedService{{uuid: "1808", chars: []emulatedChar{
		{uuid: "2A18", props: notifyRead},
		// Real meters only write and indicate; the read lets the test make
		// the page receive the response code.
		{uuid: "2A52", props: bluetoothemulation.CharacteristicProperties{Write: true, Indicate: true, Read: true}},
	}}})
	got := pairDevice(t, pat, meter, func(d []pairedDevice) bool { return len(d) == 1 && d[0].Connected })
	if got[0].KitDevice != kitID {
		t.Fatalf("paired %+v; want kit device %s", got[0], kitID)
	}
	// The page asks for every stored record: op code 0x01, operator 0x01.
	deadline := time.Now().Add(10 * time.Second)
	for len(meter.written("2A52")) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if w := meter.written("2A52"); len(w) != 1 || string(w[0]) != "\x01\x01" {
		t.Fatalf("writes to the Record Access Control Point: %x; emulated operations: %s", w, meter.log())
	}

	// Record 1, 5.6 mmol/L at 08:00; record 2, 6.2 mmol/L at 08:05; then
	// record 1 again, as a meter asked twice sends it.
	rec1 := []byte{0x06, 0x01, 0x00, 0xEA, 0x07, 0x0B, 0x1A, 0x08, 0x00, 0x00, 0x38, 0xC0, 0x11}
	rec2 := []byte{0x06, 0x02, 0x00, 0xEA, 0x07, 0x0B, 0x1A, 0x08, 0x05, 0x00, 0x3E, 0xC0, 0x11}
	for i, step := range []struct {
		rec    []byte
		status string
	}{{rec1, "stored"}, {rec2, "stored"}, {rec1, "duplicate"}} {
		meter.queueRead("2A18", step.rec)
		if i == 2 {
			// Response code: to "report stored records", success.
			meter.queueRead("2A52", []byte{0x06, 0x00, 0x01, 0x01})
		}
		readDevices(t, pat, meter, 2)
		hex := strings.ToUpper(fmt.Sprintf("%x", step.rec))
		waitDevices(t, pat, "record "+strconv.Itoa(i+1)+" "+step.status, 10*time.Second, func(d []pairedDevice) bool {
			return d[0].LastValue == hex && d[0].LastStatus == step.status
		}, meter)
	}
	sctx, cancel := context.WithTimeout(pat, 10*time.Second)
	err := chromedp.Do(sctx, chromedp.WaitVisible(`.devices-stored[data-racp="sent"]`))
	cancel()
	if err != nil {
		t.Fatalf("the page does not say the meter has sent its stored values: %v", err)
	}

	waitShown(t, clin, `[data-code="14743-9"][data-value="6.2"][data-unit="mmol/L"]`, "the clinician's page")
	waitShown(t, clin, `[data-expected="14743-9"][data-arrived="true"]`, "the expected glucose")
	waitShown(t, clin, `[data-expected="29463-7"][data-arrived="false"]`, "the expected weight")

	var list struct {
		Readings []struct {
			DeviceID string `json:"deviceId"`
		} `json:"readings"`
	}
	if status := rc.api(t, "GET", "/api/v1/patients/"+patientID+"/readings", clinTok, "", &list); status != 200 {
		t.Fatalf("readings: %d", status)
	}
	n := 0
	for _, r := range list.Readings {
		if r.DeviceID == kitID {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d readings of the glucose meter stored, want 2 (record 1 once, record 2 once)", n)
	}
}
