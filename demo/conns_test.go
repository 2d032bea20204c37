package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// pair is one loopback TCP connection: the server's side (as the tracker sees it) and the client's.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tracked := trackReads(ln)
	defer tracked.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = tracked.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// closedByServer: the client reads EOF within a second.
func closedByServer(t *testing.T, client net.Conn) bool {
	t.Helper()
	client.SetReadDeadline(time.Now().Add(time.Second))
	_, err := client.Read(make([]byte, 1))
	return err == io.EOF
}

func TestNothingClosesBeforeTheAppLeaves(t *testing.T) {
	server, client := pair(t)
	conns := newConnTracker()
	conns.track(server, http.StateIdle)

	if open := conns.closeIdle(time.Second, time.Now().Add(time.Hour)); open != 1 {
		t.Fatalf("open = %d, want 1: nothing is closed before the app leaves", open)
	}
	client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := client.Read(make([]byte, 1)); err == io.EOF {
		t.Fatal("the connection was closed before the app left")
	}
}

func TestIdleConnectionClosesOnceIdleLongEnoughSinceLeaving(t *testing.T) {
	server, client := pair(t)
	conns := newConnTracker()
	conns.track(server, http.StateIdle)
	left := time.Now().Add(time.Minute) // idle long before: the clock starts at leaving
	conns.leave(left)

	if open := conns.closeIdle(time.Second, left.Add(999*time.Millisecond)); open != 1 {
		t.Fatalf("open = %d 999 ms after leaving, want 1", open)
	}
	if open := conns.closeIdle(time.Second, left.Add(time.Second)); open != 0 {
		t.Fatalf("open = %d 1 s after leaving, want 0", open)
	}
	if !closedByServer(t, client) {
		t.Fatal("the client did not see the connection close")
	}
}

// The first of POST /drain and SIGTERM starts the clock: at SIGTERM, a connection idle since a /drain long enough
// ago closes at once.
func TestTheFirstLeaveStartsTheClock(t *testing.T) {
	server, _ := pair(t)
	conns := newConnTracker()
	conns.track(server, http.StateIdle)
	drained := time.Now().Add(time.Minute)
	if !conns.leave(drained) {
		t.Fatal("the first leave did not count")
	}
	sigterm := drained.Add(3 * time.Second)
	if conns.leave(sigterm) {
		t.Fatal("a second leave moved the clock")
	}
	if open := conns.closeIdle(time.Second, sigterm); open != 0 {
		t.Fatalf("open = %d at SIGTERM 3 s after /drain, want 0", open)
	}
}

func TestActiveConnectionStaysOpen(t *testing.T) {
	_, _, conns, left := leftWith(t, http.StateActive)

	if open := conns.closeIdle(time.Second, left.Add(time.Hour)); open != 1 {
		t.Fatalf("open = %d, want 1: a request in progress is answered, not cut", open)
	}
}

// A request that reached the socket but that the server has not read yet is answered, not lost.
func TestIdleConnectionWithBytesWaitingStaysOpen(t *testing.T) {
	server, client, conns, left := leftWith(t, http.StateIdle)
	if _, err := client.Write([]byte("POST / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return server.(*readTrackingConn).unread() > 0 })

	if open := conns.closeIdle(time.Second, left.Add(time.Hour)); open != 1 {
		t.Fatalf("open = %d, want 1: bytes of a request are waiting", open)
	}
}

// A request the server has begun to read (still StateIdle until the whole header is in) is answered, not lost.
func TestIdleConnectionThatReadSinceItWentIdleStaysOpen(t *testing.T) {
	server, client, conns, left := leftWith(t, http.StateIdle)
	if _, err := client.Write([]byte("POST")); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(server, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}

	if open := conns.closeIdle(time.Second, left.Add(time.Hour)); open != 1 {
		t.Fatalf("open = %d, want 1: the server is reading a request on it", open)
	}
}

// leftWith: one connection tracked in state, and the app left just now.
func leftWith(t *testing.T, state http.ConnState) (server, client net.Conn, conns *connTracker, left time.Time) {
	t.Helper()
	server, client = pair(t)
	conns = newConnTracker()
	conns.track(server, state)
	left = time.Now()
	conns.leave(left)
	return server, client, conns, left
}

func waitFor(t *testing.T, condition func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !condition(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2 s")
		}
	}
}
