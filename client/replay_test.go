package client

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"mogfs/protocol"
)

// replayTracker is a TCP server on loopback that answers tracker requests
// with replies recorded from MogileFS 2.73 (testdata/golden-2.73.txt). It is
// a recording of the original, not a model of our tracker: it knows nothing
// but the recorded lines.
type replayTracker struct {
	addr  string
	pairs []pair
	ln    net.Listener

	mu    sync.Mutex // guards seen, conns, open
	seen  []string   // commands received, in order
	conns int        // connections accepted
	open  []net.Conn // server ends of accepted connections

	// hook, when set, runs on each request line instead of the replay;
	// returning "" closes the connection without a reply.
	hook func(line string) string
}

type pair struct {
	req   protocol.Request
	reply string
}

func loadGolden(t testing.TB) []pair {
	t.Helper()
	b, err := os.ReadFile("testdata/golden-2.73.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []pair
	var cur *protocol.Request
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "C: "):
			r, err := protocol.ParseRequest(line[3:])
			if err != nil {
				t.Fatalf("golden %q: %v", line, err)
			}
			cur = &r
		case strings.HasPrefix(line, "S: ") && cur != nil:
			out = append(out, pair{req: *cur, reply: line[3:]})
			cur = nil
		}
	}
	return out
}

func startReplay(t testing.TB) *replayTracker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt := &replayTracker{addr: ln.Addr().String(), pairs: loadGolden(t), ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			rt.mu.Lock()
			rt.conns++
			rt.open = append(rt.open, nc)
			rt.mu.Unlock()
			go rt.serve(nc)
		}
	}()
	return rt
}

func (rt *replayTracker) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	for {
		line, err := protocol.ReadLine(br, protocol.MaxLine)
		if err != nil {
			return
		}
		req, err := protocol.ParseRequest(line)
		if err != nil {
			continue
		}
		rt.mu.Lock()
		rt.seen = append(rt.seen, req.Cmd)
		hook := rt.hook
		rt.mu.Unlock()
		var reply string
		if hook != nil {
			if reply = hook(line); reply == "" {
				return
			}
		} else {
			reply = rt.match(req)
		}
		if _, err := nc.Write([]byte(reply + "\r\n")); err != nil {
			return
		}
	}
}

// match returns the reply of the recorded request with the same command
// whose arguments all appear, with the same values, in req; the one matching
// most arguments wins.
func (rt *replayTracker) match(req protocol.Request) string {
	best, bestN := "ERR unknown_command Unknown+server+command", -1
	for _, p := range rt.pairs {
		if p.req.Cmd != req.Cmd {
			continue
		}
		n := 0
		for k, v := range p.req.Args {
			if req.Args[k] != v {
				n = -1
				break
			}
			n++
		}
		if n > bestN {
			best, bestN = p.reply, n
		}
	}
	return best
}

// dropAll closes the server end of every connection, as a restarted
// tracker does.
func (rt *replayTracker) dropAll() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, nc := range rt.open {
		nc.Close()
	}
	rt.open = nil
}

func (rt *replayTracker) commands() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

func (rt *replayTracker) connCount() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.conns
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}
