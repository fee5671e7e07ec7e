//go:build !linux

package mediaio

import (
	"net"

	"github.com/pion/transport/v5"
)

// NewBatchConn returns c: batched system calls are Linux's (sendmmsg,
// recvmmsg); elsewhere pion reads and writes one datagram at a time.
func NewBatchConn(c *net.UDPConn, _ *Counters) transport.UDPConn { return c }
