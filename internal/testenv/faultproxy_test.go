package testenv

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through c and reads it back, waiting at most wait.
func roundTrip(c net.Conn, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "ping\n" {
		err = errors.New("echo: " + line)
	}
	return err
}

func TestFaultProxy(t *testing.T) {
	target := echoServer(t)
	p := NewFaultProxy(t, func(string) string { return target })
	dial := func() net.Conn {
		c, err := net.Dial("tcp", "127.0.0.1:"+p.Port())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	open := dial()
	if err := roundTrip(open, 5*time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}

	p.SetMode(Delay, 200*time.Millisecond)
	start := time.Now()
	if err := roundTrip(open, 5*time.Second); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("delay: %v after %v, want the echo no sooner than 200ms", err, time.Since(start))
	}

	// A hang stalls open and new connections alike, and closes them when
	// it ends.
	p.SetMode(Hang, 0)
	fresh := dial()
	for name, c := range map[string]net.Conn{"open": open, "new": fresh} {
		if err := roundTrip(c, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("hang, %s connection: %v, want no answer", name, err)
		}
	}
	p.SetMode(Pass, 0)
	for name, c := range map[string]net.Conn{"open": open, "new": fresh} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("after the hang, %s connection: %v, want it closed", name, err)
		}
	}
	if err := roundTrip(dial(), 5*time.Second); err != nil {
		t.Fatalf("after the hang: %v", err)
	}

	// Drop closes open connections and refuses new ones.
	open = dial()
	if err := roundTrip(open, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetMode(Drop, 0)
	if err := roundTrip(open, 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("drop, open connection: %v, want it closed", err)
	}
	// The reset may come as soon as the connect.
	if c, err := net.Dial("tcp", "127.0.0.1:"+p.Port()); err == nil {
		defer c.Close()
		if err := roundTrip(c, 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("drop, new connection: %v, want it closed", err)
		}
	}
}
