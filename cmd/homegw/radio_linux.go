//go:build linux

package main

func newRadio(adapter string) (Radio, error) { return newBlueZRadio(adapter) }
