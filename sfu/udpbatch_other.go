//go:build !linux

package sfu

import (
	"net"

	"github.com/pion/transport/v5"
)

// newBatchConn returns c: batched system calls are Linux's (sendmmsg,
// recvmmsg); elsewhere pion reads and writes one datagram at a time.
func newBatchConn(c *net.UDPConn, _ *udpCounters) transport.UDPConn { return c }
