package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/protocol"
)

func TestFailoverRefused(t *testing.T) {
	rt := startReplay(t)
	dead := closedAddr(t)
	c := newTestClient(t, dead, rt.addr)
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("Do(noop) with first tracker refused = %v, want success from the second", err)
	}
	// The refused tracker is now skipped: the next request goes straight to
	// the second one, and the order lists it last.
	if o := c.order(); o[0].addr != rt.addr {
		t.Errorf("order()[0] = %s, want %s (dead tracker skipped)", o[0].addr, rt.addr)
	}
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("second Do = %v", err)
	}
	if got := rt.commands(); !slices.Equal(got, []string{"noop", "noop"}) {
		t.Errorf("second tracker saw %q", got)
	}
}

func TestAllTrackersDown(t *testing.T) {
	c, err := New(Config{Trackers: []string{closedAddr(t), closedAddr(t)}, Outage: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Do(t.Context(), "noop", nil)
	if !errors.Is(err, ErrNoTrackers) {
		t.Fatalf("Do with every tracker refused = %v, want ErrNoTrackers", err)
	}
	// It kept trying for the outage, then gave up.
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Do gave up after %v, want about the 500ms outage", d)
	}
	if n := c.trackerDials.Load(); n < 4 {
		t.Errorf("%d connection attempts, want the round retried", n)
	}
	// Both are now marked dead, but are still tried rather than failing
	// without a connection attempt.
	if o := c.order(); len(o) != 2 {
		t.Errorf("order() = %d trackers, want 2", len(o))
	}
}

func TestErrDoesNotFailOver(t *testing.T) {
	first := startReplay(t)
	second := startReplay(t)
	c := newTestClient(t, first.addr, second.addr)
	_, err := c.GetPaths(t.Context(), "testdom", "/does/not/exist", true, 0)
	if !protocol.IsCode(err, "unknown_key") {
		t.Fatalf("GetPaths = %v, want unknown_key", err)
	}
	if n := len(second.commands()); n != 0 {
		t.Errorf("second tracker got %d requests after an ERR reply, want 0", n)
	}
}

func TestFailoverOnBrokenConnection(t *testing.T) {
	first := startReplay(t)
	first.hook = func(string) string { return "" } // accept, read, hang up
	second := startReplay(t)
	c := newTestClient(t, first.addr, second.addr)
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("Do = %v, want the second tracker's reply", err)
	}
	if n := len(second.commands()); n != 1 {
		t.Errorf("second tracker got %d requests, want 1", n)
	}
}

func TestStaleIdleConnectionIsReplaced(t *testing.T) {
	rt := startReplay(t)
	c := newTestClient(t, rt.addr)
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatal(err)
	}
	rt.dropAll()
	time.Sleep(10 * time.Millisecond) // let the FIN arrive
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("Do after the idle connection was closed = %v", err)
	}
	if n := rt.connCount(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestTimeoutFailsOver(t *testing.T) {
	slow := startReplay(t)
	slow.hook = func(string) string { time.Sleep(2 * time.Second); return "OK " }
	fast := startReplay(t)
	c, err := New(Config{Trackers: []string{slow.addr, fast.addr}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("Do = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Do took %v, want about the 200ms timeout", d)
	}
}

func TestContextCancelStopsRequest(t *testing.T) {
	slow := startReplay(t)
	slow.hook = func(string) string { time.Sleep(2 * time.Second); return "OK " }
	other := startReplay(t)
	c := newTestClient(t, slow.addr, other.addr)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Do(ctx, "noop", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Do took %v after its context ended", d)
	}
	if n := len(other.commands()); n != 0 {
		t.Errorf("cancelled request was failed over (%d requests)", n)
	}
}

func TestClosed(t *testing.T) {
	rt := startReplay(t)
	c := newTestClient(t, rt.addr)
	c.Close()
	if _, err := c.Do(t.Context(), "noop", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tr := range [][]string{nil, {""}, {"no-port"}} {
		if _, err := New(Config{Trackers: tr}); err == nil {
			t.Errorf("New(%q) succeeded, want error", tr)
		}
	}
}

// TestOutageRiddenOut: while no tracker accepts connections (one
// restarting), a request waits and succeeds once it is back, instead of
// failing; with Outage negative it fails at once.
func TestOutageRiddenOut(t *testing.T) {
	addr := closedAddr(t)
	go func() {
		time.Sleep(400 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		t.Cleanup(func() { ln.Close() })
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer cn.Close()
				br := bufio.NewReader(cn)
				for {
					if _, err := br.ReadString('\n'); err != nil {
						return
					}
					io.WriteString(cn, "OK \r\n")
				}
			}()
		}
	}()
	c := newTestClient(t, addr)
	if _, err := c.Do(t.Context(), "noop", nil); err != nil {
		t.Fatalf("Do across a 400ms outage = %v, want OK", err)
	}
	fast, err := New(Config{Trackers: []string{closedAddr(t)}, Outage: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	start := time.Now()
	if _, err := fast.Do(t.Context(), "noop", nil); !errors.Is(err, ErrNoTrackers) || time.Since(start) > time.Second {
		t.Errorf("Do with Outage -1 = %v after %v, want ErrNoTrackers at once", err, time.Since(start))
	}
}

// TestCreateCloseCommittedBeforeTrackerDied: the first tracker commits a
// create_close and dies before its reply; the resent close finds no temp
// row. If the key holds our fid the upload is stored and CreateClose says
// so; if it holds another, the error stands.
func TestCreateCloseCommittedBeforeTrackerDied(t *testing.T) {
	for _, tc := range []struct {
		fid  string
		want bool
	}{{"42", true}, {"43", false}} {
		first := startReplay(t)
		first.hook = func(string) string { return "" } // accept, read, hang up: the reply is lost
		second := startReplay(t)
		second.hook = func(line string) string {
			switch {
			case strings.HasPrefix(line, "create_close "):
				return "ERR no_temp_file No+tempfile+or+invalid+fid"
			case strings.HasPrefix(line, "file_info "):
				return "OK fid=" + tc.fid + "&key=k&domain=d&class=default&length=1&devcount=1"
			}
			return "ERR unknown_command"
		}
		c := newTestClient(t, first.addr, second.addr)
		err := c.CreateClose(t.Context(), "d", "k", 42, Dest{DevID: 1, Path: "http://x/dev1/0/000/000/0000000042.fid"}, 1, "")
		if (err == nil) != tc.want {
			t.Errorf("key holding fid %s: CreateClose = %v, want success %v", tc.fid, err, tc.want)
		}
	}
}

// TestStoreAgainAfterNodeLostUpload: the node dies between the PUT and the
// tracker's HEAD, so create_close answers size_verify_error and the tracker
// drops the upload; StoreReaderAt stores the bytes once more from a new
// create_open, and stops after that one retry.
func TestStoreAgainAfterNodeLostUpload(t *testing.T) {
	var puts atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		puts.Add(1)
	}))
	defer node.Close()
	for _, tc := range []struct {
		failures int // create_close answers size_verify_error this many times
		ok       bool
	}{{1, true}, {2, false}} {
		var opens, closes atomic.Int64
		rt := startReplay(t)
		rt.hook = func(line string) string {
			switch {
			case strings.HasPrefix(line, "create_open "):
				n := opens.Add(1)
				return fmt.Sprintf("OK fid=%d&dev_count=1&devid_1=1&path_1=%s/dev1/%d.fid", 10+n, url.QueryEscape(node.URL), 10+n)
			case strings.HasPrefix(line, "create_close "):
				if closes.Add(1) <= int64(tc.failures) {
					return "ERR size_verify_error Expected:+3;+actual:+0+(cantreach)"
				}
				return "OK "
			}
			return "ERR unknown_command"
		}
		c := newTestClient(t, rt.addr)
		fid, err := c.StoreReaderAt(t.Context(), "d", "k", "c", strings.NewReader("abc"), 3)
		if (err == nil) != tc.ok {
			t.Errorf("%d lost uploads: StoreReaderAt = %d, %v; want success %v", tc.failures, fid, err, tc.ok)
		}
		if opens.Load() != 2 {
			t.Errorf("%d lost uploads: %d create_opens, want 2 (one retry)", tc.failures, opens.Load())
		}
		if tc.ok && fid != 12 {
			t.Errorf("stored as fid %d, want the retry's 12", fid)
		}
	}
}
