// Package mediaio is the per-packet plumbing under the SFU, shared with the
// load tool: a UDP socket that moves datagrams in batches, and the RTCP
// feedback a receiver owes a sender (receiver reports, NACKs,
// transport-wide congestion control) computed without allocating. It
// depends on pion and nothing else of vclinic.
package mediaio

import (
	"net"
	"sync/atomic"

	"github.com/pion/transport/v5"
)

// The media socket moves packets in batches: one sendmmsg(2) carries every
// packet written while the previous call was under way, and one recvmmsg(2)
// takes every datagram the kernel has queued (udpbatch_linux.go). Each
// system call costs several microseconds however little it carries, and a
// server forwarding tens of thousands of packets a second spends much of its
// time in them.
//
// Batching adds no timer and no deliberate wait. A packet written to an
// idle socket leaves at once, from a goroutine that sends for the whole
// socket; packets written while it is in the kernel wait only for that call
// to return, and then leave together. Reading never waits for a batch to
// fill: recvmmsg on a non-blocking socket returns what is there.

// batchMessages is the most datagrams one system call moves.
const batchMessages = 64

// Counters count batched sockets' system calls and the datagrams they
// moved: their ratio is the batch size that load gives.
type Counters struct {
	SendCalls, Sent, SendErrors     atomic.Uint64
	RecvCalls, Received, RecvErrors atomic.Uint64
}

// Net is pion's transport.Net whose UDP sockets batch (for pion's ICE
// agents and ice.NewMultiUDPMuxFromPort, which open sockets through it).
type Net struct {
	transport.Net
	Counters *Counters
}

// ListenUDP opens a batching UDP socket.
func (n Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return c, nil
	}
	return NewBatchConn(uc, n.Counters), nil
}
