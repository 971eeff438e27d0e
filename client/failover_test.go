package client

import (
	"context"
	"errors"
	"slices"
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
	c := newTestClient(t, closedAddr(t), closedAddr(t))
	_, err := c.Do(t.Context(), "noop", nil)
	if !errors.Is(err, ErrNoTrackers) {
		t.Fatalf("Do with every tracker refused = %v, want ErrNoTrackers", err)
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
