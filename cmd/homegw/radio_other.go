//go:build !linux

package main

import "errors"

func newRadio(string) (Radio, error) {
	return nil, errors.New("homegw: Bluetooth needs Linux (BlueZ)")
}
