//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"tinygo.org/x/bluetooth"
)

// bluezRadio is the Radio over BlueZ (D-Bus), with tinygo.org/x/bluetooth.
type bluezRadio struct {
	adapter *bluetooth.Adapter
	scan    sync.Mutex // BlueZ scans per adapter, one at a time
}

// newBlueZRadio enables the adapter, "hci0" or "" for the default.
func newBlueZRadio(id string) (*bluezRadio, error) {
	a := bluetooth.DefaultAdapter
	if id != "" {
		a = bluetooth.NewAdapter(id)
	}
	if err := a.Enable(); err != nil {
		return nil, fmt.Errorf("bluetooth adapter %q: %w", id, err)
	}
	return &bluezRadio{adapter: a}, nil
}

// find scans until the device advertises: BlueZ can connect only to a
// device it has seen.
func (b *bluezRadio) find(ctx context.Context, mac bluetooth.MAC) error {
	b.scan.Lock()
	defer b.scan.Unlock()
	found := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- b.adapter.Scan(func(a *bluetooth.Adapter, r bluetooth.ScanResult) {
			if r.Address.MAC == mac {
				once.Do(func() { close(found) })
				a.StopScan()
			}
		})
	}()
	select {
	case <-found:
		return <-done
	case err := <-done:
		if err == nil {
			err = errors.New("scan ended")
		}
		return err
	case <-ctx.Done():
		b.adapter.StopScan()
		<-done
		return ctx.Err()
	}
}

func (b *bluezRadio) Subscribe(ctx context.Context, dev Device, records RecordAccess, fn func(char uint16, value []byte)) error {
	mac, err := bluetooth.ParseMAC(dev.Address)
	if err != nil {
		return fmt.Errorf("device %s: address %q: %w", dev.ID, dev.Address, err)
	}
	if err := b.find(ctx, mac); err != nil {
		return fmt.Errorf("device %s: scan: %w", dev.ID, err)
	}
	addr := bluetooth.Address{MACAddress: bluetooth.MACAddress{MAC: mac}}
	d, err := b.adapter.Connect(addr, bluetooth.ConnectionParams{})
	if err != nil {
		return fmt.Errorf("device %s: connect: %w", dev.ID, err)
	}
	defer d.Disconnect()
	services, err := d.DiscoverServices(nil)
	if err != nil {
		return fmt.Errorf("device %s: services: %w", dev.ID, err)
	}
	var mu sync.Mutex // fn sees one value at a time
	subscribed := 0
	var control *bluetooth.DeviceCharacteristic
	for _, s := range services {
		chars, err := s.DiscoverCharacteristics(nil)
		if err != nil {
			return fmt.Errorf("device %s: characteristics: %w", dev.ID, err)
		}
		for i := range chars {
			u := chars[i].UUID()
			if !u.Is16Bit() {
				continue
			}
			char := u.Get16Bit()
			if records != nil && char == RecordAccessControlPoint {
				control = &chars[i]
			} else if !IsMeasurement(char) {
				continue
			}
			// BlueZ's StartNotify turns on indications or notifications,
			// whichever the characteristic has.
			if err := chars[i].EnableNotifications(func(buf []byte) {
				v := append([]byte(nil), buf...)
				mu.Lock()
				defer mu.Unlock()
				fn(char, v)
			}); err != nil {
				return fmt.Errorf("device %s: notify %s: %w", dev.ID, charName(char), err)
			}
			if char != RecordAccessControlPoint {
				subscribed++
			}
		}
	}
	if subscribed == 0 {
		return fmt.Errorf("device %s: no measurement characteristic", dev.ID)
	}
	var asked chan error // records' end; nil when there is none
	if records != nil {
		// A glucose meter notifies its stored records only when asked:
		// with every subscription on, records writes its requests (writes
		// with response); the meter then notifies the records on 0x2A18
		// and indicates its answer on the control point.
		if control == nil {
			return fmt.Errorf("device %s: no record access control point", dev.ID)
		}
		link, cut := context.WithCancel(ctx)
		asked = make(chan error, 1)
		var wg sync.WaitGroup
		defer func() {
			cut()
			wg.Wait()
		}()
		wg.Go(func() {
			asked <- records(link, func(req []byte) error {
				_, err := control.Write(req)
				return err
			})
		})
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-asked:
			if err != nil {
				return fmt.Errorf("device %s: stored records: %w", dev.ID, err)
			}
			asked = nil
		case <-tick.C:
			if ok, err := d.Connected(); err != nil || !ok {
				return fmt.Errorf("device %s: link lost", dev.ID)
			}
		}
	}
}
