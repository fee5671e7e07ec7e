//go:build linux

package mediaio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/pion/transport/v5"
	"golang.org/x/sys/unix"
)

// Slot sizes. Media from browsers fits a 1500-byte Ethernet frame; loopback
// peers may send more, and a datagram larger than a read slot is dropped as
// truncated (counted as a read error). Write slots grow for a larger packet.
const (
	readSlot  = 4096
	writeSlot = 1500
)

// batchConn is a UDP socket that reads with recvmmsg(2) and writes with
// sendmmsg(2) (Linux, since 2.6.33 and 3.0). pion's UDP mux reads and writes
// it through ReadFromAddrPort and WriteToAddrPort.
//
// Writes are asynchronous: WriteToAddrPort copies the packet into the batch
// being filled and returns; the socket's sender goroutine hands the batch to
// the kernel. An error the kernel gives one datagram (a full send buffer is
// not one: the sender waits for the socket to drain, as a blocking write
// would) drops that datagram and is counted, as a lost packet would be:
// UDP promises no delivery either way, and RTP recovers both alike.
type batchConn struct {
	*net.UDPConn
	raw      syscall.RawConn
	v6       bool // an AF_INET6 socket: IPv4 peers are written as ::ffff:a.b.c.d
	counters *Counters

	rmu    sync.Mutex // pion has one reader; the lock keeps a second one safe
	rd     *mmsgs
	rn     int // datagrams the last recvmmsg returned
	rnxt   int // the next of them to hand out
	rerrno syscall.Errno
	readFn func(fd uintptr) bool // b.recv, made once: a closure per call would allocate

	// The sender's: the batch it sends and how far it got.
	sm            *mmsgs
	ssent, scalls int
	sendFn        func(fd uintptr) bool

	wmu    sync.Mutex
	wcond  sync.Cond     // signalled when the filling batch empties, or on close
	fill   *mmsgs        // the batch writers add to
	spare  *mmsgs        // the other batch, nil while the sender has it
	kick   chan struct{} // wakes the sender; buffered, one pending wake-up
	closed bool
	done   chan struct{} // closed when the sender has stopped
}

// mmsgs is a batch of datagrams laid out for the kernel: each message
// header points at its own address and its own buffer.
type mmsgs struct {
	n     int
	bufs  [batchMessages][]byte
	names [batchMessages]unix.RawSockaddrInet6 // large enough for either family
	iov   [batchMessages]unix.Iovec
	hdrs  [batchMessages]unix.Mmsghdr
}

func newMmsgs(slot int) *mmsgs {
	m := &mmsgs{}
	for i := range m.hdrs {
		m.bufs[i] = make([]byte, slot)
		m.iov[i].Base = &m.bufs[i][0]
		m.iov[i].SetLen(slot)
		m.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&m.names[i]))
		m.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		m.hdrs[i].Hdr.Iov = &m.iov[i]
		m.hdrs[i].Hdr.SetIovlen(1)
	}
	return m
}

// NewBatchConn takes over c. If the socket cannot be reached for raw system
// calls, c is returned as it is (pion then reads and writes it one datagram
// at a time).
func NewBatchConn(c *net.UDPConn, counters *Counters) transport.UDPConn {
	raw, err := c.SyscallConn()
	if err != nil {
		return c
	}
	v4, err := isIPv4Socket(raw)
	if err != nil {
		return c
	}
	b := &batchConn{
		UDPConn:  c,
		raw:      raw,
		v6:       !v4,
		counters: counters,
		rd:       newMmsgs(readSlot),
		fill:     newMmsgs(writeSlot),
		spare:    newMmsgs(writeSlot),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	b.wcond.L = &b.wmu
	b.readFn, b.sendFn = b.recv, b.sendSome
	go b.sender()
	return b
}

// isIPv4Socket tells an AF_INET socket from an AF_INET6 one (which may
// carry IPv4 too, as ::ffff:a.b.c.d).
func isIPv4Socket(raw syscall.RawConn) (bool, error) {
	var v4 bool
	var serr error
	err := raw.Control(func(fd uintptr) {
		var sa unix.Sockaddr
		sa, serr = unix.Getsockname(int(fd))
		_, v4 = sa.(*unix.SockaddrInet4)
	})
	return v4, errors.Join(err, serr)
}

// ReadFromAddrPort returns the next datagram, calling recvmmsg when the
// last batch is used up.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	b.rmu.Lock()
	defer b.rmu.Unlock()
	for {
		for b.rnxt < b.rn {
			i := b.rnxt
			b.rnxt++
			h := &b.rd.hdrs[i]
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
				b.counters.RecvErrors.Add(1)
				continue // larger than a slot: dropped, as a short read would garble it
			}
			addr, ok := decodeSockaddr(&b.rd.names[i], h.Hdr.Namelen)
			if !ok {
				continue
			}
			n := copy(p, b.rd.bufs[i][:h.Len])
			return n, addr, nil
		}
		if err := b.readBatch(); err != nil {
			return 0, netip.AddrPort{}, err
		}
	}
}

// readBatch fills b.rd with what the socket holds, waiting for at least one
// datagram.
func (b *batchConn) readBatch() error {
	// recvmmsg wrote the address length and flags of the messages it
	// filled last time; the others still hold what newMmsgs set.
	for i := range b.rd.hdrs[:b.rn] {
		b.rd.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.rd.hdrs[i].Hdr.Flags = 0
	}
	b.rn, b.rnxt = 0, 0
	b.rerrno = 0
	if err := b.raw.Read(b.readFn); err != nil {
		return err
	}
	if b.rerrno != 0 {
		return &net.OpError{Op: "read", Net: "udp", Source: b.LocalAddr(), Err: b.rerrno}
	}
	b.counters.RecvCalls.Add(1)
	b.counters.Received.Add(uint64(b.rn))
	return nil
}

// recv is one recvmmsg, for raw.Read: false asks to wait until the socket
// is readable.
func (b *batchConn) recv(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rd.hdrs[0])),
			batchMessages, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.rn = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // the poller wakes us when a datagram arrives
		default:
			b.rerrno = e
			return true
		}
	}
}

// ReadFrom is ReadFromAddrPort for callers that want a net.Addr.
func (b *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, ap, err := b.ReadFromAddrPort(p)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// WriteTo is WriteToAddrPort for callers with a net.Addr.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: syscall.EINVAL}
	}
	return b.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort queues p for the next sendmmsg and returns; p may be
// reused as soon as it returns.
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if !b.v6 {
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		if !addr.Addr().Is4() {
			return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: syscall.EAFNOSUPPORT}
		}
	}
	b.wmu.Lock()
	for b.fill.n == batchMessages && !b.closed {
		b.wcond.Wait() // the sender is behind: wait as a blocking write would
	}
	if b.closed {
		b.wmu.Unlock()
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: net.ErrClosed}
	}
	m := b.fill
	i := m.n
	if cap(m.bufs[i]) < len(p) {
		m.bufs[i] = make([]byte, len(p))
	}
	buf := m.bufs[i][:len(p)]
	copy(buf, p)
	m.iov[i].Base = &m.bufs[i][0]
	m.iov[i].SetLen(len(p))
	if err := encodeSockaddr(&m.names[i], &m.hdrs[i].Hdr.Namelen, addr, b.v6); err != nil {
		b.wmu.Unlock()
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	m.n++
	first := m.n == 1
	b.wmu.Unlock()
	if first {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// sender hands batches to the kernel until the socket closes, then sends
// what is left.
func (b *batchConn) sender() {
	defer close(b.done)
	for {
		<-b.kick
		for {
			b.wmu.Lock()
			if b.fill.n == 0 {
				closed := b.closed
				b.wmu.Unlock()
				if closed {
					return
				}
				break
			}
			m := b.fill
			b.fill, b.spare = b.spare, nil
			b.wcond.Broadcast()
			b.wmu.Unlock()

			b.send(m)

			m.n = 0
			b.wmu.Lock()
			b.spare = m
			b.wmu.Unlock()
		}
	}
}

// send writes m's datagrams, in order, waiting while the send buffer is
// full.
func (b *batchConn) send(m *mmsgs) {
	b.sm, b.ssent, b.scalls = m, 0, 0
	if err := b.raw.Write(b.sendFn); err != nil && b.ssent < m.n {
		b.counters.SendErrors.Add(uint64(m.n - b.ssent)) // closed, or a write deadline
	}
	b.counters.SendCalls.Add(uint64(b.scalls))
	b.counters.Sent.Add(uint64(b.ssent))
	b.sm = nil
}

// sendSome is sendmmsg until the batch is out, for raw.Write: false asks to
// wait until the socket is writable.
func (b *batchConn) sendSome(fd uintptr) bool {
	m := b.sm
	for b.ssent < m.n {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m.hdrs[b.ssent])),
			uintptr(m.n-b.ssent), unix.MSG_DONTWAIT, 0, 0)
		b.scalls++
		switch e {
		case 0:
			b.ssent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			// The first datagram left failed (sendmmsg reports an
			// error only when none was sent): drop it, go on.
			b.counters.SendErrors.Add(1)
			b.ssent++
		}
	}
	return true
}

// Close sends what is queued, stops the sender and closes the socket.
func (b *batchConn) Close() error {
	b.wmu.Lock()
	if b.closed {
		b.wmu.Unlock()
		return b.UDPConn.Close()
	}
	b.closed = true
	b.wcond.Broadcast()
	b.wmu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	<-b.done
	return b.UDPConn.Close()
}

// encodeSockaddr writes addr as the kernel's sockaddr_in or sockaddr_in6
// (the latter on an AF_INET6 socket, IPv4 addresses mapped).
func encodeSockaddr(sa *unix.RawSockaddrInet6, namelen *uint32, addr netip.AddrPort, v6 bool) error {
	port := addr.Port()
	if !v6 {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.Addr().As4()}
		p := (*[2]byte)(unsafe.Pointer(&s4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		*namelen = unix.SizeofSockaddrInet4
		return nil
	}
	ip := addr.Addr()
	var scope uint32
	if z := ip.Zone(); z != "" {
		var err error
		if scope, err = zoneIndex(z); err != nil {
			return err
		}
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16(), Scope_id: scope}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	*namelen = unix.SizeofSockaddrInet6
	return nil
}

// decodeSockaddr reads the peer address recvmmsg wrote; IPv4-mapped IPv6
// addresses come back as IPv4, as pion's mux expects.
func decodeSockaddr(sa *unix.RawSockaddrInet6, namelen uint32) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		if namelen < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}, false
		}
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(p[0])<<8|uint16(p[1])), true
	case unix.AF_INET6:
		if namelen < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip.Unmap(), uint16(p[0])<<8|uint16(p[1])), true
	}
	return netip.AddrPort{}, false
}

// zoneName and zoneIndex convert an IPv6 scope (link-local peers) between
// the kernel's interface index and the name net uses; rare, so uncached.
func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}

func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("IPv6 zone %q: %w", zone, errors.Join(err, syscall.EINVAL))
	}
	return uint32(ifi.Index), nil
}
