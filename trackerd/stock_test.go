package trackerd

import (
	"errors"
	"path/filepath"
	"testing"

	"mogfs/internal/config"
	"mogfs/trackerd/meta"
)

// TestStockMode: with NoExtensions (--mogfs_extensions=0) the tracker
// answers like a stock MogileFS 2.73 tracker: every extension command is an
// unknown command, byte for byte, and create_close ignores attr_* (even a
// malformed one) instead of storing attributes.
func TestStockMode(t *testing.T) {
	tr, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"),
		func(c *Config) { c.NoExtensions = true })
	c := dial(t, addr)
	setup(t, c, startNode(t, 1))

	const unknown = "ERR unknown_command Unknown+server+command"
	for _, line := range []string{
		"mogfs_getattr domain=testdom&path=a",
		"mogfs_setattr domain=testdom&path=a&isdir=1&mode=40755",
		"mogfs_delattr domain=testdom&path=a",
		"mogfs_renameattrs domain=testdom&from=a&to=b",
		"mogfs_list domain=testdom&prefix=",
		"mogfs_caps",
		"stats",
	} {
		if got := c.line(line); got != unknown {
			t.Errorf("%q = %q, want %q", line, got, unknown)
		}
	}
	// Stock commands still work on the same connection.
	if got := c.line("noop"); got != "OK " {
		t.Errorf("noop = %q, want OK", got)
	}

	dmid := tr.ns.snap().domains["testdom"].ID
	// No subtests: the connection helpers fail the test that dialled.
	for _, tc := range []struct{ key, mode string }{
		{"/a/f", "100640"},
		{"/a/bad", "rwx"}, // bad_params with extensions
	} {
		res := c.ok("create_open", args{"domain": "testdom", "key": tc.key, "fid": "0"})
		put(t, res["path"], "abc")
		c.ok("create_close", args{"domain": "testdom", "key": tc.key, "fid": res["fid"], "devid": res["devid"],
			"path": res["path"], "size": "3", "attr_mode": tc.mode, "attr_uid": "1000", "attr_mtime": "1700000000"})
		c.ok("get_paths", args{"domain": "testdom", "key": tc.key, "noverify": "1"})
		if a, err := tr.store.GetAttr(t.Context(), dmid, tc.key); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("GetAttr(%s) = %+v, %v; want meta.ErrNotFound (attr_* ignored)", tc.key, a, err)
		}
	}
}

// TestMogfsExtensionsSetting: --mogfs_extensions maps to Config.NoExtensions,
// serving the extensions by default.
func TestMogfsExtensionsSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--mogfs_extensions=1"}, false},
		{[]string{"--mogfs_extensions=0"}, true},
	} {
		set := config.New("trackerd", Settings)
		if _, err := set.Parse(tc.args); err != nil {
			t.Fatalf("Parse(%v): %v", tc.args, err)
		}
		cfg, err := ConfigFromSet(set)
		if err != nil {
			t.Fatalf("ConfigFromSet(%v): %v", tc.args, err)
		}
		if cfg.NoExtensions != tc.want {
			t.Errorf("ConfigFromSet(%v).NoExtensions = %v, want %v", tc.args, cfg.NoExtensions, tc.want)
		}
	}
}
