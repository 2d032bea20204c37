package main

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// connTracker knows each open connection's state and since when, to close keep-alive connections only once
// they have been idle for a while after the app began leaving (POST /drain or SIGTERM, whichever came first).
type connTracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]connState
	leftAt time.Time // zero until the app begins leaving
}

type connState struct {
	state http.ConnState
	since time.Time
}

func newConnTracker() *connTracker {
	return &connTracker{conns: map[net.Conn]connState{}}
}

func (t *connTracker) track(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if state == http.StateClosed || state == http.StateHijacked {
		delete(t.conns, c)
		return
	}
	t.conns[c] = connState{state, time.Now()}
}

// leave starts the idle clocks of closeIdle, at the first call only, and says whether this was it. An app that began
// leaving at POST /drain has answered Connection: close since, so by SIGTERM its clients have had that long to move
// off the connections they used, and the ones they left idle need not wait again.
func (t *connTracker) leave(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leftAt.IsZero() {
		return false
	}
	t.leftAt = now
	return true
}

// closeIdle closes the connections idle (or new, without a request) for at least idle since the app began leaving;
// returns how many connections remain open. Idleness counts from leaving at the earliest: once the busy connections
// answer with Connection: close, a client's pool hands out the ones it had left idle, and closing those at that
// moment is the very race (a request written as the connection closes) this shutdown avoids. Closing one whose next
// request has begun to arrive (bytes read by the server but not yet a whole request, so still StateIdle, or bytes
// waiting in the socket) would lose that request: those stay open and are answered with Connection: close.
// A client that writes after the close still loses its request; no server can prevent that on HTTP/1.1.
func (t *connTracker) closeIdle(idle time.Duration, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.leftAt.IsZero() {
		return len(t.conns)
	}
	for c, s := range t.conns {
		since := s.since
		if since.Before(t.leftAt) {
			since = t.leftAt
		}
		if (s.state == http.StateIdle || s.state == http.StateNew) && now.Sub(since) >= idle && !requestArriving(c, s.since) {
			c.Close()
			delete(t.conns, c)
		}
	}
	return len(t.conns)
}

// requestArriving: c has read bytes since it entered its state at since, or has bytes waiting to be read.
func requestArriving(c net.Conn, since time.Time) bool {
	rc, ok := c.(*readTrackingConn)
	if !ok {
		return false
	}
	return rc.lastRead.Load() >= since.UnixNano() || rc.unread() > 0
}

// trackReads wraps ln so that closeIdle can tell a connection whose next request has begun to arrive from an idle one.
func trackReads(ln net.Listener) net.Listener {
	return readTrackingListener{ln}
}

type readTrackingListener struct{ net.Listener }

func (l readTrackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readTrackingConn{Conn: c}, nil
}

// readTrackingConn records when it last read bytes.
type readTrackingConn struct {
	net.Conn
	lastRead atomic.Int64 // Unix nanoseconds
}

func (c *readTrackingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

// unread is the number of bytes waiting in the socket's receive queue (0 when it cannot tell).
func (c *readTrackingConn) unread() int {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	raw.Control(func(fd uintptr) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
			n = 0
		}
	})
	return int(n)
}
