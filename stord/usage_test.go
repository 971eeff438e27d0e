package stord

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseMountinfo(t *testing.T) {
	const mi = `22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 8:17 / /var/mogdata/dev1 rw,relatime shared:2 - xfs /dev/sdb1 rw
41 22 8:33 / /mnt/with\040space rw - ext4 /dev/sdc1 rw
50 22 0:45 / /tmp rw,nosuid - tmpfs tmpfs rw
`
	mounts := parseMountinfo(strings.NewReader(mi))
	for _, tc := range []struct{ path, point, source string }{
		{"/var/mogdata/dev1", "/var/mogdata/dev1", "/dev/sdb1"},
		{"/var/mogdata/dev1/0/000", "/var/mogdata/dev1", "/dev/sdb1"},
		{"/var/mogdata/dev10", "/", "/dev/vda"},
		{"/mnt/with space/dev2", "/mnt/with space", "/dev/sdc1"},
		{"/tmp/x/dev3", "/tmp", "tmpfs"},
	} {
		m, ok := mountFor(mounts, tc.path)
		if !ok || m.point != tc.point || m.source != tc.source {
			t.Errorf("mountFor(%q) = %+v, %v, want %s on %s", tc.path, m, ok, tc.source, tc.point)
		}
	}
}

func TestUsageFile(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"dev1", "dev20", "dev3", "notadev", "devx"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "dev4"), nil, 0o644) // a file, not a device
	devs, err := devDirs(root)
	if err != nil || strings.Join(devs, ",") != "dev1,dev3,dev20" {
		t.Fatalf("devDirs = %v, %v, want dev1,dev3,dev20", devs, err)
	}
	updateUsage(root, slog.New(slog.DiscardHandler))
	b, err := os.ReadFile(filepath.Join(root, "dev3", "usage"))
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || v == "" {
			t.Fatalf("usage line %q is not \"key: value\"", line)
		}
		kv[k] = v
		keys = append(keys, k)
	}
	if got := strings.Join(keys, ","); got != "available,device,disk,time,total,use,used" {
		t.Errorf("usage keys = %s", got)
	}
	if kv["disk"] != filepath.Join(root, "dev3") {
		t.Errorf("usage disk = %q, want %q", kv["disk"], filepath.Join(root, "dev3"))
	}
	var total, used, avail, ts uint64
	for k, p := range map[string]*uint64{"total": &total, "used": &used, "available": &avail, "time": &ts} {
		if _, err := fmt.Sscan(kv[k], p); err != nil {
			t.Errorf("usage %s = %q, not a number", k, kv[k])
		}
	}
	if total != used+avail || total == 0 {
		t.Errorf("usage total %d != used %d + available %d", total, used, avail)
	}
	if d := time.Since(time.Unix(int64(ts), 0)); d < 0 || d > time.Minute {
		t.Errorf("usage time %d is not now", ts)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(filepath.Join(root, "dev3"))
	if len(ents) != 1 {
		t.Errorf("dev3 holds %v, want only usage", ents)
	}
}
