package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A FaultMode is how a FaultProxy treats the bytes it carries.
type FaultMode int

const (
	// Pass forwards every byte as it comes.
	Pass FaultMode = iota
	// Delay holds each chunk the target sends for the proxy's delay before
	// passing it on: a slow server.
	Delay
	// Hang accepts connections and forwards nothing either way, on new and
	// open connections alike: a server that stopped answering. The
	// connections it stalled are closed when the hang ends.
	Hang
	// Drop closes every connection, open or new, at once: a server that is
	// down.
	Drop
	// LoseReply passes requests on but loses the next reply: the first
	// bytes the target sends back are dropped and both connections reset,
	// and the proxy passes again. The target did the work; the client saw
	// a broken connection, and a client that retries sends it again.
	LoseReply
)

// FaultProxy is a TCP proxy on loopback in front of one target address. It
// knows nothing of what it carries (TLS passes through it untouched), so the
// client sees the target's own certificate, slowed, hung or cut off.
type FaultProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	mode    FaultMode
	delay   time.Duration
	changed chan struct{} // closed and replaced at every change of mode
	conns   map[net.Conn]struct{}
	closed  bool

	accepted atomic.Int64
	wg       sync.WaitGroup
}

// NewFaultProxy listens on a free port of 127.0.0.1 and forwards to
// target(port), called with the port it listens on: a target on another
// loopback address with the same port (127.0.0.2:port) keeps every URL
// that names localhost:port pointing at the proxy. The proxy starts in Pass
// mode and closes with the test.
func NewFaultProxy(t testing.TB, target func(port string) string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p := &FaultProxy{ln: ln, target: target(port), changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Port is the port the proxy listens on.
func (p *FaultProxy) Port() string {
	_, port, _ := net.SplitHostPort(p.ln.Addr().String())
	return port
}

// Target is the address the proxy forwards to.
func (p *FaultProxy) Target() string { return p.target }

// Accepted is how many connections the proxy has accepted.
func (p *FaultProxy) Accepted() int64 { return p.accepted.Load() }

// SetMode changes how the proxy treats open and new connections; delay is
// what Delay holds each chunk for.
func (p *FaultProxy) SetMode(mode FaultMode, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.delay = mode, delay
	close(p.changed)
	p.changed = make(chan struct{})
	if mode == Drop {
		for c := range p.conns {
			reset(c)
		}
	}
}

// Close stops the proxy and closes its connections.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.changed)
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// state is the mode now, its delay, and a channel closed when it changes.
func (p *FaultProxy) state() (FaultMode, time.Duration, <-chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay, p.changed, p.closed
}

func (p *FaultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode == Drop {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *FaultProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *FaultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if !p.track(c) {
			reset(c)
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c)
		}()
	}
}

// handle carries one client connection to the target.
func (p *FaultProxy) handle(client net.Conn) {
	defer client.Close()
	// A connection accepted while hung waits, unanswered, for the end of
	// the hang, and is closed then.
	if !p.gate(client) {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(client)
		return
	}
	if !p.track(server) {
		reset(server)
		return
	}
	defer p.untrack(server)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client, false); done <- struct{}{} }()
	go func() { p.pipe(client, server, true); done <- struct{}{} }()
	<-done
	<-done
}

// pipe copies src to dst, chunk by chunk, as the mode says; fromTarget
// marks the direction a Delay slows. An end of file half-closes dst, as
// TCP would; any other end closes both connections.
func (p *FaultProxy) pipe(dst, src net.Conn, fromTarget bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && fromTarget && p.takeLostReply() {
			reset(dst)
			reset(src)
			return
		}
		if n > 0 {
			mode, delay, _, _ := p.state()
			if mode == Delay && fromTarget {
				time.Sleep(delay)
			}
			if !p.gate(dst) {
				src.Close()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if errors.Is(err, io.EOF) {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// takeLostReply reports whether the proxy loses this reply, and if so
// passes again after it.
func (p *FaultProxy) takeLostReply() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != LoseReply {
		return false
	}
	p.mode = Pass
	close(p.changed)
	p.changed = make(chan struct{})
	return true
}

// gate waits while the proxy hangs, and reports whether c may carry on:
// not once the proxy drops, closes, or has just ended a hang.
func (p *FaultProxy) gate(c net.Conn) bool {
	waited := false
	for {
		mode, _, changed, closed := p.state()
		switch {
		case closed || mode == Drop:
			reset(c)
			return false
		case mode != Hang:
			if waited {
				reset(c)
				return false
			}
			return true
		}
		waited = true
		<-changed
	}
}

// reset closes c at once, with a RST rather than a FIN where it can.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
