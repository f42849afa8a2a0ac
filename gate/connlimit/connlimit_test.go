package connlimit

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback address src (any of 127/8
// on Linux).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s here: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoOnce serves ln: each accepted connection gets one byte, then stays
// open until the client closes it.
func echoOnce(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { // exits when the client closes the connection
			defer c.Close()
			c.Write([]byte{'x'})
			io.Copy(io.Discard, c)
		}()
	}
}

// served reports whether the server wrote its byte on c (true) or closed
// it (false), waiting up to a generous deadline.
func served(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	_, err := c.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("neither served nor closed within 10s")
	}
	return err == nil
}

func TestPerAddressShare(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	ln := Listen(inner, Options{Total: 10, PerAddress: 2, OnRefuse: func(key string) {
		if key == "127.0.0.1" {
			refused.Add(1)
		}
	}})
	defer ln.Close()
	go echoOnce(ln)
	addr := inner.Addr().String()

	a1, a2 := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	if !served(t, a1) || !served(t, a2) {
		t.Fatal("connections within the share were not served")
	}
	if a3 := dialFrom(t, "127.0.0.1", addr); served(t, a3) {
		t.Fatal("a third connection from one address was served with a share of 2")
	}
	if refused.Load() != 1 {
		t.Fatalf("OnRefuse called %d times", refused.Load())
	}
	if b := dialFrom(t, "127.0.0.2", addr); !served(t, b) {
		t.Fatal("another address was refused while the first held its share")
	}
	a1.Close()
	// The share frees as connections close: poll until the gate saw it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := dialFrom(t, "127.0.0.1", addr); served(t, c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the address's share did not free when one of its connections closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4000":              "192.0.2.7",
		"[::ffff:192.0.2.7]:4000":     "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:4000": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:80":   "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:80":        "2001:db8:1:3::/64",
		"[fe80::1%eth0]:80":           "fe80::/64",
		"not-an-address":              "not-an-address",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}
