package trackerd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"mogfs/internal/stordtest"
)

// TestAdminWaitsForMonitorRound: with a monitor that would not probe again
// for a minute, a device added by create_device is still usable by the very
// next create_open, because the admin command waits for a probe round as
// the original's clear_cache does (scripts that register devices and then
// upload at once must not get no_devices).
func TestAdminWaitsForMonitorRound(t *testing.T) {
	node := stordtest.Start(t, 1)
	_, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"), func(c *Config) {
		c.MonitorInterval = time.Minute
	})
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "d"})
	c.ok("create_host", args{"host": "n1", "ip": node.IP, "port": "7500", "status": "alive"})
	c.ok("create_device", args{"hostname": "n1", "devid": "1", "state": "alive"})
	res := c.ok("create_open", args{"domain": "d", "key": "k", "fid": "0", "multi_dest": "1"})
	if res["dev_count"] != "1" || res["devid_1"] != "1" {
		t.Errorf("create_open right after create_device = %v, want dev1", res)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stordtest.Cleanup() // the stord binary built for tests that need a real node
	os.Exit(code)
}
