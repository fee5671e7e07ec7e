package sfu

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

// udpCounters count the media socket's system calls and the datagrams they
// moved, for Stats: their ratio is the batch size that load gives.
type udpCounters struct {
	sendCalls, sent, sendErrors     atomic.Uint64
	recvCalls, received, recvErrors atomic.Uint64
}

// batchNet is pion's transport.Net whose UDP sockets batch (for
// ice.NewMultiUDPMuxFromPort, which opens a socket per interface address
// through it).
type batchNet struct {
	transport.Net
	counters *udpCounters
}

func (n batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return c, nil
	}
	return newBatchConn(uc, n.counters), nil
}
