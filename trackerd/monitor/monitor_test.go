package monitor_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
	"mogfs/trackerd/monitor"
)

func runMonitor(t *testing.T, st *meta.Store) *monitor.Monitor {
	t.Helper()
	m := monitor.New(monitor.Config{
		Store:          st,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Interval:       100 * time.Millisecond,
		WriteTestEvery: 300 * time.Millisecond,
		ConnTimeout:    time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return m
}

func addHost(t *testing.T, st *meta.Store, n *node, name string, devids ...int) meta.Host {
	t.Helper()
	h, err := st.CreateHost(t.Context(), meta.Host{Name: name, IP: n.IP, HTTPPort: 7500, Status: "alive"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devids {
		if err := st.CreateDevice(t.Context(), meta.Device{ID: d, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// waitSnap waits up to d for cond to hold on a snapshot.
func waitSnap(t *testing.T, m *monitor.Monitor, d time.Duration, what string, cond func(*monitor.Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond(m.Snapshot()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; snapshot devs %+v reach %+v", d, what, m.Snapshot().Dev, m.Snapshot().HostReachable)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMonitorProbesRealNode(t *testing.T) {
	st := metatest.NewSQLite(t)
	n := startNode(t, 1, 2)
	h := addHost(t, st, n, "node1", 1, 2)
	m := runMonitor(t, st)

	if err := m.WaitRound(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if s.Round == 0 {
		t.Fatal("Round = 0 after WaitRound")
	}
	for _, d := range []int{1, 2} {
		if got := s.Dev[d].State; got != monitor.StateWriteable {
			t.Errorf("dev%d observed state = %q, want writeable", d, got)
		}
		if !s.ShouldGetNewFiles(d) || !s.ShouldReadFrom(d) {
			t.Errorf("dev%d: ShouldGetNewFiles %v ShouldReadFrom %v, want true", d, s.ShouldGetNewFiles(d), s.ShouldReadFrom(d))
		}
		if s.MBFree(d) <= 0 || s.PercentFree(d) <= 0 {
			t.Errorf("dev%d usage unknown: MBFree %d PercentFree %v", d, s.MBFree(d), s.PercentFree(d))
		}
		// stord verifies Content-MD5, so the bad-MD5 probe is refused.
		if !s.Dev[d].RejectBadMD5 {
			t.Errorf("dev%d RejectBadMD5 = false, want true", d)
		}
	}
	if !s.HostReachable[h.ID] {
		t.Error("host not reachable")
	}
	devs, err := st.Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if !d.HaveUsage || d.MBTotal <= 0 {
			t.Errorf("device %d usage not written to the store: %+v", d.ID, d)
		}
	}
	waitSnap(t, m, 5*time.Second, "utilization from the side channel", func(s *monitor.Snapshot) bool {
		return s.Dev[1].Utilization != "" && s.Dev[2].Utilization != ""
	})

	// A node that stops answering is out within a round or two.
	n.Stop()
	waitSnap(t, m, 2*time.Second, "devices unreachable", func(s *monitor.Snapshot) bool {
		return !s.ShouldReadFrom(1) && !s.ShouldReadFrom(2) && s.Dev[1].State == monitor.StateUnreachable
	})
	// And back when it returns.
	n.Start()
	waitSnap(t, m, 3*time.Second, "devices writeable again", func(s *monitor.Snapshot) bool {
		return s.ShouldGetNewFiles(1) && s.ShouldGetNewFiles(2)
	})
}

func TestMonitorAdminStates(t *testing.T) {
	st := metatest.NewSQLite(t)
	n := startNode(t, 1, 2, 3)
	addHost(t, st, n, "node1", 1, 2, 3)
	m := runMonitor(t, st)
	ctx := t.Context()
	if err := st.SetDeviceState(ctx, 2, "readonly"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeviceState(ctx, 3, "down"); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Snapshot().Devices[3].Status; got != "down" {
		t.Fatalf("after Refresh dev3 status = %q, want down", got)
	}
	if err := m.WaitRound(ctx); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if s.Dev[2].State != monitor.StateReadable || s.ShouldGetNewFiles(2) || !s.ShouldReadFrom(2) || s.CanDeleteFrom(2) {
		t.Errorf("readonly dev2: obs %q new %v read %v delete %v", s.Dev[2].State, s.ShouldGetNewFiles(2), s.ShouldReadFrom(2), s.CanDeleteFrom(2))
	}
	if s.Dev[3].State != "" || s.CanReadFrom(3) || !s.ShouldHaveFiles(3) {
		t.Errorf("down dev3: obs %q canread %v has %v", s.Dev[3].State, s.CanReadFrom(3), s.ShouldHaveFiles(3))
	}
	if !s.ShouldGetNewFiles(1) {
		t.Error("alive dev1 does not get new files")
	}
}

func TestWaitRoundCancelled(t *testing.T) {
	st := metatest.NewSQLite(t)
	m := monitor.New(monitor.Config{Store: st}) // never Run
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := m.WaitRound(ctx); err == nil {
		t.Fatal("WaitRound without Run returned nil")
	}
}

func TestMonitorUnknownHostIsUnreachable(t *testing.T) {
	st := metatest.NewSQLite(t)
	// Nothing listens on this node's ports: connection refused.
	ip := "127.250.0." + strconv.Itoa(1+int(time.Now().UnixNano()%200))
	h, err := st.CreateHost(t.Context(), meta.Host{Name: "ghost", IP: ip, HTTPPort: 7500, Status: "alive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDevice(t.Context(), meta.Device{ID: 9, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	m := runMonitor(t, st)
	if err := m.WaitRound(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if s.Dev[9].State != monitor.StateUnreachable || s.ShouldReadFrom(9) || s.HostReachable[h.ID] {
		t.Errorf("dead node: obs %q read %v reach %v", s.Dev[9].State, s.ShouldReadFrom(9), s.HostReachable[h.ID])
	}
}

func TestRefreshLoadsZones(t *testing.T) {
	st := metatest.NewSQLite(t)
	ctx := t.Context()
	var hosts []meta.Host
	for i, ip := range []string{"10.1.0.5", "10.2.0.5", "192.168.0.5"} {
		h, err := st.CreateHost(ctx, meta.Host{Name: "h" + strconv.Itoa(i), IP: ip, HTTPPort: 7500, Status: "alive"})
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	m := monitor.New(monitor.Config{Store: st}) // never Run: Refresh alone
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); s.Zones != nil || s.HostZone(hosts[0].ID) != "" {
		t.Fatalf("no zone settings: Zones = %v, HostZone = %q, want none", s.Zones, s.HostZone(hosts[0].ID))
	}
	for k, v := range map[string]string{"network_zones": "east,west", "zone_east": "10.1.0.0/16", "zone_west": "10.2.0.0/16 10.3.0.0/16"} {
		if err := st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	for i, want := range []string{"east", "west", ""} {
		if got := s.HostZone(hosts[i].ID); got != want {
			t.Errorf("HostZone(%s) = %q, want %q", hosts[i].IP, got, want)
		}
	}
	if got := s.HostZone(999); got != "" {
		t.Errorf("HostZone(unknown host) = %q, want \"\"", got)
	}
}

// TestRefreshDuringRound: tables installed by Refresh while a round is
// probing survive the end of that round, whose tables are older.
func TestRefreshDuringRound(t *testing.T) {
	st := metatest.NewSQLite(t)
	ctx := t.Context()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	port, _ := strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	h, err := st.CreateHost(ctx, meta.Host{Name: "slow", IP: "127.0.0.1", HTTPPort: port, Status: "alive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDevice(ctx, meta.Device{ID: 1, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	m := runMonitor(t, st)
	<-entered // the first round has loaded its tables, without zones, and probes
	for k, v := range map[string]string{"zone_a": "127.0.0.1", "network_zones": "a"} {
		if err := st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if z := m.Snapshot().HostZone(h.ID); z != "a" {
		t.Fatalf("after Refresh: HostZone = %q, want a", z)
	}
	release <- struct{}{} // let the probe answer (and close(release) the rest)
	waitSnap(t, m, 5*time.Second, "the first round's end", func(s *monitor.Snapshot) bool { return s.Round >= 1 })
	if z := m.Snapshot().HostZone(h.ID); z != "a" {
		t.Errorf("after the round that started before Refresh: HostZone = %q, want a", z)
	}
}
