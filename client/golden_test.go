package client

import (
	"reflect"
	"testing"

	"mogfs/protocol"
)

func newTestClient(t testing.TB, trackers ...string) *Client {
	t.Helper()
	c, err := New(Config{Trackers: trackers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGoldenCreateOpen(t *testing.T) {
	rt := startReplay(t)
	c := newTestClient(t, rt.addr)
	for _, tc := range []struct {
		key  string
		want OpenResult
	}{
		{"/wire/a.txt", OpenResult{FID: 4, Dests: []Dest{
			{2, "http://127.0.0.2:7500/dev2/0/000/000/0000000004.fid"},
			{4, "http://127.0.0.3:7500/dev4/0/000/000/0000000004.fid"},
			{5, "http://127.0.0.4:7500/dev5/0/000/000/0000000004.fid"},
		}}},
		// The single-destination reply shape (no multi_dest).
		{"/proto/single", OpenResult{FID: 3, Dests: []Dest{{3, "http://127.0.0.3:7500/dev3/0/000/000/0000000003.fid"}}}},
	} {
		got, err := c.CreateOpen(t.Context(), "testdom", tc.key, "two", -1)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CreateOpen(%q) = %+v, %v; want %+v", tc.key, got, err, tc.want)
		}
	}
	_, err := c.CreateOpen(t.Context(), "testdom", "x", "nosuch", -1)
	if !protocol.IsCode(err, "unreg_class") {
		t.Errorf("CreateOpen(class nosuch) err = %v, want unreg_class", err)
	}
	d := Dest{2, "http://127.0.0.2:7500/dev2/0/000/000/0000000004.fid"}
	if err := c.CreateClose(t.Context(), "testdom", "/wire/a.txt", 4, d, 6, ""); err != nil {
		t.Errorf("CreateClose = %v", err)
	}
}

func TestGoldenReads(t *testing.T) {
	rt := startReplay(t)
	c := newTestClient(t, rt.addr)
	ctx := t.Context()

	paths, err := c.GetPaths(ctx, "testdom", "/bench/gp", true, 0)
	want := []string{"http://127.0.0.3:7500/dev3/0/000/000/0000000105.fid", "http://127.0.0.2:7500/dev1/0/000/000/0000000105.fid"}
	if err != nil || !reflect.DeepEqual(paths, want) {
		t.Errorf("GetPaths = %q, %v; want %q", paths, err, want)
	}
	paths, err = c.GetPaths(ctx, "testdom", "/wire/a.txt", true, 99)
	if err != nil || len(paths) != 1 {
		t.Errorf("GetPaths(pathcount 99) = %q, %v", paths, err)
	}
	for _, tc := range []struct {
		domain, key, code string
	}{
		{"testdom", "/does/not/exist", "unknown_key"},
		{"nosuchdomain", "x", "unreg_domain"},
	} {
		_, err := c.GetPaths(ctx, tc.domain, tc.key, true, 0)
		if !protocol.IsCode(err, tc.code) {
			t.Errorf("GetPaths(%s, %s) err = %v, want %s", tc.domain, tc.key, err, tc.code)
		}
	}

	fi, err := c.FileInfo(ctx, "testdom", "/bench/gp")
	wantFI := FileInfo{FID: 105, Domain: "testdom", Key: "/bench/gp", Class: "two", Length: 6, DevCount: 2, DevIDs: []int{1, 3}}
	if err != nil || !reflect.DeepEqual(fi, wantFI) {
		t.Errorf("FileInfo = %+v, %v; want %+v", fi, err, wantFI)
	}
	fi, err = c.FileInfo(ctx, "testdom", "/proto/test key+ü.txt")
	if err != nil || fi.Key != "/proto/test key+ü.txt" || fi.Length != 27 {
		t.Errorf("FileInfo(escaped key) = %+v, %v", fi, err)
	}

	keys, next, err := c.ListKeys(ctx, "testdom", "/proto", "", 10)
	if err != nil || !reflect.DeepEqual(keys, []string{"/proto/test key+ü.txt"}) || next != "/proto/test key+ü.txt" {
		t.Errorf("ListKeys = %q, %q, %v", keys, next, err)
	}
	keys, next, err = c.ListKeys(ctx, "testdom", "/nothinghere", "", 10)
	if err != nil || keys != nil || next != "" {
		t.Errorf("ListKeys(none_match) = %q, %q, %v; want nil, \"\", nil", keys, next, err)
	}
}

func TestGoldenAdmin(t *testing.T) {
	rt := startReplay(t)
	c := newTestClient(t, rt.addr)
	ctx := t.Context()
	doms, err := c.Domains(ctx)
	want := []Domain{{Name: "testdom", Classes: []Class{
		{Name: "default", MinDevCount: 2, ReplPolicy: "MultipleHosts()", HashType: "NONE"},
		{Name: "two", MinDevCount: 2, ReplPolicy: "MultipleHosts()", HashType: "NONE"},
	}}}
	if err != nil || !reflect.DeepEqual(doms, want) {
		t.Errorf("Domains = %+v, %v; want %+v", doms, err, want)
	}
	if err := c.CreateClass(ctx, "testdom", "wireclass", ClassOpts{MinDevCount: 2}); err != nil {
		t.Errorf("CreateClass = %v", err)
	}
	if err := c.DeleteClass(ctx, "testdom", "wireclass"); err != nil {
		t.Errorf("DeleteClass = %v", err)
	}
	if err := c.CreateDomain(ctx, "testdom"); !protocol.IsCode(err, "domain_exists") {
		t.Errorf("CreateDomain(existing) = %v, want domain_exists", err)
	}
	ss, err := c.ServerSettings(ctx)
	if err != nil || !reflect.DeepEqual(ss, map[string]string{"schema_version": "17"}) {
		t.Errorf("ServerSettings = %v, %v", ss, err)
	}
	if err := c.Rename(ctx, "testdom", "/wire/a.txt", "/wire/b.txt"); err != nil {
		t.Errorf("Rename = %v", err)
	}
	if err := c.Delete(ctx, "testdom", "/wire/b.txt"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	// A command the 2.73 tracker does not know.
	if _, err := c.Stats(ctx); !protocol.IsCode(err, "unknown_command") {
		t.Errorf("Stats on a stock tracker = %v, want unknown_command", err)
	}
	// Every request above reused one pooled connection.
	if n := rt.connCount(); n != 1 {
		t.Errorf("connections = %d, want 1 (idle reuse)", n)
	}
}

func TestParseHostsDevices(t *testing.T) {
	// Field sets as listed in the 2.73 transcript; numbering is not id order.
	hosts := parseHosts(map[string]string{
		"hosts": "2", "host1_hostid": "2", "host1_hostname": "store2", "host1_status": "alive", "host1_hostip": "127.0.0.3",
		"host1_http_port": "7500", "host1_http_get_port": "", "host1_altip": "", "host1_altmask": "",
		"host2_hostid": "1", "host2_hostname": "store1", "host2_status": "down", "host2_hostip": "127.0.0.2",
		"host2_http_port": "7500", "host2_http_get_port": "7600",
	})
	wantH := []Host{
		{ID: 1, Name: "store1", Status: "down", IP: "127.0.0.2", HTTPPort: 7500, HTTPGetPort: 7600},
		{ID: 2, Name: "store2", Status: "alive", IP: "127.0.0.3", HTTPPort: 7500},
	}
	if !reflect.DeepEqual(hosts, wantH) {
		t.Errorf("parseHosts = %+v, want %+v", hosts, wantH)
	}
	devs := parseDevices(map[string]string{
		"devices": "2", "dev1_devid": "3", "dev1_hostid": "2", "dev1_status": "alive", "dev1_weight": "100",
		"dev1_observed_state": "writeable", "dev1_utilization": "3.50", "dev1_mb_total": "20000", "dev1_mb_used": "13389",
		"dev1_mb_free": "6611", "dev2_devid": "1", "dev2_hostid": "1", "dev2_status": "dead", "dev2_mb_total": "",
	})
	wantD := []Device{
		{ID: 1, HostID: 1, Status: "dead", MBTotal: -1, MBUsed: -1, MBFree: -1},
		{ID: 3, HostID: 2, Status: "alive", Weight: 100, ObservedState: "writeable", Utilization: "3.50", MBTotal: 20000, MBUsed: 13389, MBFree: 6611},
	}
	if !reflect.DeepEqual(devs, wantD) {
		t.Errorf("parseDevices = %+v, want %+v", devs, wantD)
	}
}
