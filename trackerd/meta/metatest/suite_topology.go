package metatest

import (
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

func testHosts(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	h1, err := s.CreateHost(ctx, meta.Host{Name: "a", IP: "10.0.0.1"})
	must(t, err, "CreateHost(a)")
	if h1.ID != 1 || h1.HTTPPort != 7500 || h1.Status != "down" {
		t.Fatalf("CreateHost(a) = %+v; want id 1, port 7500, status down", h1)
	}
	h2, err := s.CreateHost(ctx, meta.Host{Name: "b", IP: "10.0.0.2", HTTPPort: 7600, HTTPGetPort: 7601,
		Status: "alive", AltIP: "192.168.0.2", AltMask: "192.168.0.0/16"})
	must(t, err, "CreateHost(b)")
	// Hosts without altip coexist (NULL is not a UNIQUE clash).
	h3, err := s.CreateHost(ctx, meta.Host{Name: "c", IP: "10.0.0.3", Status: "readonly"})
	must(t, err, "CreateHost(c)")
	for _, h := range []meta.Host{{Name: "a", IP: "10.0.0.9"}, {Name: "z", IP: "10.0.0.1"},
		{Name: "y", IP: "10.0.0.8", AltIP: "192.168.0.2"}} {
		_, err := s.CreateHost(ctx, h)
		wantErr(t, err, meta.ErrExists, "CreateHost clash "+h.Name)
	}
	hosts, err := s.Hosts(ctx)
	must(t, err, "Hosts")
	if len(hosts) != 3 || hosts[0] != h1 || hosts[1] != h2 || hosts[2] != h3 {
		t.Fatalf("Hosts() = %+v\nwant %+v %+v %+v", hosts, h1, h2, h3)
	}
	h3.Status, h3.AltIP, h3.HTTPGetPort = "dead", "192.168.0.3", 8000
	must(t, s.UpdateHost(ctx, h3), "UpdateHost(c)")
	must(t, s.UpdateHost(ctx, h3), "UpdateHost(c) unchanged")
	h3.AltIP = "192.168.0.2"
	wantErr(t, s.UpdateHost(ctx, h3), meta.ErrExists, "UpdateHost altip clash")
	wantErr(t, s.UpdateHost(ctx, meta.Host{ID: 42, Name: "q", IP: "1.1.1.1"}), meta.ErrNotFound, "UpdateHost(42)")
	hosts, _ = s.Hosts(ctx)
	if hosts[2].Status != "dead" || hosts[2].AltIP != "192.168.0.3" || hosts[2].HTTPGetPort != 8000 {
		t.Fatalf("after UpdateHost: %+v", hosts[2])
	}
	must(t, s.CreateDevice(ctx, meta.Device{ID: 1, HostID: h1.ID}), "CreateDevice")
	wantErr(t, s.DeleteHost(ctx, h1.ID), meta.ErrHostNotEmpty, "DeleteHost with device")
	wantErr(t, s.DeleteHost(ctx, 99), meta.ErrNotFound, "DeleteHost(99)")
	must(t, s.DeleteHost(ctx, h3.ID), "DeleteHost(c)")
	h4, err := s.CreateHost(ctx, meta.Host{Name: "d", IP: "10.0.0.4"})
	if err != nil || h4.ID != 3 {
		t.Fatalf("CreateHost after delete = %+v, %v; want id 3 (MAX+1)", h4, err)
	}
}

func testDevices(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	h, err := s.CreateHost(ctx, meta.Host{Name: "a", IP: "10.0.0.1", Status: "alive"})
	must(t, err, "CreateHost")
	must(t, s.CreateDevice(ctx, meta.Device{ID: 5, HostID: h.ID}), "CreateDevice(5)")
	must(t, s.CreateDevice(ctx, meta.Device{ID: 2, HostID: h.ID, Status: "readonly", Weight: 50}), "CreateDevice(2)")
	wantErr(t, s.CreateDevice(ctx, meta.Device{ID: 5, HostID: h.ID}), meta.ErrExists, "CreateDevice(5) again")
	wantErr(t, s.CreateDevice(ctx, meta.Device{ID: 6, HostID: 77}), meta.ErrNotFound, "CreateDevice on unknown host")
	devs, err := s.Devices(ctx)
	must(t, err, "Devices")
	want := []meta.Device{
		{ID: 2, HostID: h.ID, Status: "readonly", Weight: 50},
		{ID: 5, HostID: h.ID, Status: "alive", Weight: 100},
	}
	if len(devs) != 2 || devs[0] != want[0] || devs[1] != want[1] {
		t.Fatalf("Devices() = %+v, want %+v", devs, want)
	}
	for _, st := range []string{"drain", "dead", "down", "alive", "readonly"} {
		must(t, s.SetDeviceState(ctx, 5, st), "SetDeviceState(%s)", st)
	}
	must(t, s.SetDeviceWeight(ctx, 5, 0), "SetDeviceWeight")
	must(t, s.UpdateDeviceUsage(ctx, 5, 1<<20, 1234), "UpdateDeviceUsage")
	wantErr(t, s.SetDeviceState(ctx, 9, "dead"), meta.ErrNotFound, "SetDeviceState(9)")
	wantErr(t, s.SetDeviceWeight(ctx, 9, 1), meta.ErrNotFound, "SetDeviceWeight(9)")
	wantErr(t, s.UpdateDeviceUsage(ctx, 9, 1, 1), meta.ErrNotFound, "UpdateDeviceUsage(9)")
	devs, _ = s.Devices(ctx)
	d := devs[1]
	if d.Status != "readonly" || d.Weight != 0 || !d.HaveUsage || d.MBTotal != 1<<20 || d.MBUsed != 1234 ||
		time.Since(d.MBAsOf).Abs() > time.Minute {
		t.Fatalf("device 5 = %+v", d)
	}
}
