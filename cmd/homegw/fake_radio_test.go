package main

import (
	"context"
	"errors"
	"sync"
)

// fakeRadio plays scripted values per device address: each Subscribe call
// takes the next script; a script ends with a lost link unless it is the
// last, which then waits for ctx.
type fakeRadio struct {
	mu      sync.Mutex
	scripts map[string][][]fakeValue
}

type fakeValue struct {
	char  uint16
	value []byte
}

func (f *fakeRadio) Subscribe(ctx context.Context, dev Device, fn func(uint16, []byte)) error {
	f.mu.Lock()
	s := f.scripts[dev.Address]
	var script []fakeValue
	last := len(s) <= 1
	if len(s) > 0 {
		script, f.scripts[dev.Address] = s[0], s[1:]
	}
	f.mu.Unlock()
	for _, v := range script {
		fn(v.char, v.value)
	}
	if !last {
		return errors.New("link lost")
	}
	<-ctx.Done()
	return ctx.Err()
}
