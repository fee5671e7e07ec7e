package main

import (
	"context"
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
func bluetoothPage(t *testing.T, url string) context.Context {
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

// emulatedPeripheral answers the browser's operations on one emulated
// peripheral: connections and discovery succeed, a subscription succeeds, a
// read gives the next queued value.
type emulatedPeripheral struct {
	t       *testing.T
	ctx     context.Context
	address string

	mu    sync.Mutex
	reads [][]byte
	ops   []string
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

// queueRead sets the value the next read answers with.
func (p *emulatedPeripheral) queueRead(b []byte) {
	p.mu.Lock()
	p.reads = append(p.reads, b)
	p.mu.Unlock()
}

func (p *emulatedPeripheral) answer(ev any) {
	// Listen's callback must not send commands: answer from a goroutine.
	switch e := ev.(type) {
	case *bluetoothemulation.EventGattOperationReceived:
		p.note("gatt " + string(e.Type))
		go func() {
			_, err := chromedp.CallBrowser(p.ctx, bluetoothemulation.SimulateGATTOperationResponse,
				bluetoothemulation.SimulateGATTOperationResponseParams{Address: e.Address, Type: e.Type, Code: 0})
			if err != nil && p.ctx.Err() == nil {
				p.t.Logf("answer GATT %s: %v", e.Type, err)
			}
		}()
	case *bluetoothemulation.EventCharacteristicOperationReceived:
		p.note("characteristic " + string(e.Type))
		params := bluetoothemulation.SimulateCharacteristicOperationResponseParams{
			CharacteristicID: e.CharacteristicID, Type: e.Type, Code: 0}
		if e.Type == bluetoothemulation.CharacteristicOperationTypeRead {
			p.mu.Lock()
			if len(p.reads) > 0 {
				params.Data, p.reads = p.reads[0], p.reads[1:]
			} else {
				params.Data = []byte{0}
			}
			p.mu.Unlock()
		}
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

// emulateBloodPressureMonitor sets up a powered-on adapter with one
// preconnected blood-pressure monitor (service 0x1810, Blood Pressure
// Measurement 0x2A35 with notify and read, and its 0x2902 descriptor), answers
// its operations, and picks it in the page's device chooser.
func emulateBloodPressureMonitor(t *testing.T, ctx context.Context) *emulatedPeripheral {
	t.Helper()
	p := &emulatedPeripheral{t: t, ctx: ctx, address: "09:09:09:09:09:09"}
	if err := chromedp.ListenBrowser(ctx, p.answer); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.Enable,
		bluetoothemulation.EnableParams{State: bluetoothemulation.CentralStatePoweredOn, LeSupported: true}); err != nil {
		t.Fatalf("BluetoothEmulation.enable: %v", err)
	}
	t.Cleanup(func() { _, _ = chromedp.CallBrowser(ctx, bluetoothemulation.Disable, cdp.Empty{}) })
	if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.SimulatePreconnectedPeripheral,
		bluetoothemulation.SimulatePreconnectedPeripheralParams{
			Address: p.address, Name: "BP Monitor",
			ManufacturerData:  []*bluetoothemulation.ManufacturerData{},
			KnownServiceUUIDs: []string{gattUUID("1810")},
		}); err != nil {
		t.Fatalf("simulatePreconnectedPeripheral: %v", err)
	}
	svc, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddService,
		bluetoothemulation.AddServiceParams{Address: p.address, ServiceUUID: gattUUID("1810")})
	if err != nil {
		t.Fatalf("addService: %v", err)
	}
	ch, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddCharacteristic, bluetoothemulation.AddCharacteristicParams{
		ServiceID: svc.ServiceID, CharacteristicUUID: gattUUID("2A35"),
		Properties: &bluetoothemulation.CharacteristicProperties{Read: true, Notify: true},
	})
	if err != nil {
		t.Fatalf("addCharacteristic: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, bluetoothemulation.AddDescriptor, bluetoothemulation.AddDescriptorParams{
		CharacteristicID: ch.CharacteristicID, DescriptorUUID: gattUUID("2902")}); err != nil {
		t.Fatalf("addDescriptor: %v", err)
	}

	// The chooser: pick the monitor as soon as it is listed.
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

// pairedDevice is what the page reports about a paired device.
type pairedDevice struct {
	Name       string `json:"name"`
	KitDevice  string `json:"kitDevice"`
	By         string `json:"by"`
	LastValue  string `json:"lastValue"`
	LastStatus string `json:"lastStatus"`
}

// waitDevices polls the patient's page until ok holds for its paired devices.
func waitDevices(t *testing.T, ctx context.Context, what string, within time.Duration, ok func([]pairedDevice) bool, p *emulatedPeripheral) []pairedDevice {
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
	rc := startClinic(t)
	apptID := strings.TrimPrefix(strings.SplitN(rc.patient, "#", 2)[0], rc.base+"/visit/")
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
	monitor := emulateBloodPressureMonitor(t, pat)

	// A real click: requestDevice needs the user's gesture.
	pair := `button[data-action="pair-device"]`
	cctx, cancel := context.WithTimeout(pat, 10*time.Second)
	err := chromedp.Do(cctx, chromedp.WaitVisible(pair), chromedp.Click(pair))
	cancel()
	if err != nil {
		t.Fatalf("click %s: %v", pair, err)
	}
	waitDevices(t, pat, "the monitor connected", 15*time.Second, func(d []pairedDevice) bool {
		return len(d) == 1 && d[0].Name == "BP Monitor" && d[0].By == "type"
	}, monitor)
	connected, _ := chromedp.Run(pat, chromedp.Evaluate[string](`document.querySelector('#home-devices .devices-status').textContent`))
	if connected != "Connected: BP Monitor" {
		t.Errorf("status line %q, want %q", connected, "Connected: BP Monitor")
	}

	// 120/80 mmHg, mean 93, pulse 72: the value reaches the page through
	// characteristicvaluechanged, as a notification would.
	monitor.queueRead([]byte{0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x48, 0x00})
	sent := time.Now()
	rctx, cancelRead := context.WithTimeout(pat, 10*time.Second)
	n, err := chromedp.Run(rctx, chromedp.Evaluate[int](`window.vclinic.readDevices()`, chromedp.EvalAwaitPromise))
	cancelRead()
	if err != nil || n != 1 {
		t.Fatalf("readDevices: %d, %v; emulated operations: %s", n, err, monitor.log())
	}
	waitDevices(t, pat, "the reading stored", 10*time.Second, func(d []pairedDevice) bool {
		return len(d) == 1 && d[0].LastValue == "04780050005D004800" && d[0].LastStatus == "stored"
	}, monitor)

	shown := `[data-code="8480-6"][data-value="120"]`
	vctx, cancelV := context.WithTimeout(clin, 10*time.Second)
	err = chromedp.Do(vctx, chromedp.WaitReady(shown))
	cancelV()
	if err != nil {
		html, _ := chromedp.Run(clin, chromedp.Evaluate[string](`JSON.stringify(window.vclinic && window.vclinic.vitals)`))
		t.Fatalf("the clinician's page does not show the systolic value: %v\n%s", err, html)
	}
	t.Logf("read to shown on the clinician's page: %s; emulated operations: %s", time.Since(sent), monitor.log())
}

// TestManualReadingWithoutWebBluetooth: in a browser without Web Bluetooth
// (as on an iPhone or in Firefox) the visit page says so in plain words, and
// a temperature the patient types reaches the clinician's page.
func TestManualReadingWithoutWebBluetooth(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	apptID := strings.TrimPrefix(strings.SplitN(rc.patient, "#", 2)[0], rc.base+"/visit/")
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

	form := `form[data-action="manual-reading"]`
	ctx, cancel := context.WithTimeout(pat, 10*time.Second)
	err := chromedp.Do(ctx, chromedp.WaitVisible(form))
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
