package trackerd

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/internal/config"
)

// dialFrom is dial from a chosen local address, so that the tracker sees
// the client at that address.
func dialFrom(tb testing.TB, addr, localIP string) *conn {
	tb.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial from %s: %v", localIP, err)
	}
	tb.Cleanup(func() { c.Close() })
	return &conn{tb: tb, c: c, br: bufio.NewReader(c)}
}

// TestZoneLocal: with network zones set, create_open and get_paths put the
// devices in the client's zone first, for clients of either zone, also
// when get_paths answers from its cache; a client in no zone keeps the
// ordinary order.
func TestZoneLocal(t *testing.T) {
	dsn := "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.db")
	_, addr := startTrackerWith(t, dsn, func(c *Config) { c.JobMaster = true })
	c := dial(t, addr)
	nodes := []*node{startNode(t, 1), startNode(t, 2), startNode(t, 3), startNode(t, 4)}
	setup(t, c, nodes...)
	zoneOf := map[string]string{"1": "a", "2": "a", "3": "b", "4": "b"} // devid → zone
	client := map[string]string{}                                       // zone → client address
	for _, z := range []string{"a", "b"} {
		client[z] = fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(254))
	}
	c.ok("set_server_setting", map[string]string{"key": "zone_a", "value": nodes[0].ip + "/32, " + nodes[1].ip + " " + client["a"]})
	c.ok("set_server_setting", map[string]string{"key": "zone_b", "value": nodes[2].ip + "/32, " + nodes[3].ip + " " + client["b"]})
	c.ok("set_server_setting", map[string]string{"key": "network_zones", "value": "a, b"})

	for _, z := range []string{"a", "b"} {
		cz := dialFrom(t, addr, client[z])
		for range 10 {
			res := cz.ok("create_open", map[string]string{"domain": "testdom", "key": "new", "multi_dest": "1"})
			if zoneOf[res["devid_1"]] != z || zoneOf[res["devid_2"]] != z || res["devid_1"] == res["devid_2"] {
				t.Fatalf("create_open from zone %s = devices %s, %s, %s; want the first two in zone %s", z, res["devid_1"], res["devid_2"], res["devid_3"], z)
			}
		}
	}

	// A file on every device, then get_paths from each zone, alternating so
	// that the path cache answers most of them.
	c.ok("create_class", map[string]string{"domain": "testdom", "class": "all", "mindevcount": "4"})
	store(t, c, "k", "all", "hello")
	deadline := time.Now().Add(15 * time.Second)
	for c.ok("file_info", map[string]string{"domain": "testdom", "key": "k"})["devcount"] != "4" {
		if time.Now().After(deadline) {
			t.Fatal("file not on 4 devices after 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	zonesOf := func(res map[string]string) []string {
		var out []string
		for i := 1; i <= 4; i++ {
			p := res["path"+strconv.Itoa(i)]
			u, err := url.Parse(p)
			if err != nil || len(strings.Split(u.Path, "/")) < 2 {
				t.Fatalf("get_paths path%d = %q", i, p)
			}
			out = append(out, zoneOf[strings.TrimPrefix(strings.Split(u.Path, "/")[1], "dev")])
		}
		return out
	}
	conns := map[string]*conn{"a": dialFrom(t, addr, client["a"]), "b": dialFrom(t, addr, client["b"])}
	want := map[string][]string{"a": {"a", "a", "b", "b"}, "b": {"b", "b", "a", "a"}}
	for i := range 20 {
		z := []string{"a", "b"}[i%2]
		res := conns[z].ok("get_paths", map[string]string{"domain": "testdom", "key": "k", "noverify": "1", "pathcount": "4"})
		if got := zonesOf(res); !slices.Equal(got, want[z]) {
			t.Fatalf("get_paths from zone %s: zones of the paths %v, want %v (%v)", z, got, want[z], res)
		}
	}
	// A client in no zone (127.0.0.1) gets every order in time.
	seen := map[string]bool{}
	for range 200 {
		res := c.ok("get_paths", map[string]string{"domain": "testdom", "key": "k", "noverify": "1", "pathcount": "4"})
		seen[zonesOf(res)[0]] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("get_paths from outside the zones: first paths only in zones %v, want both", seen)
	}

	// Without the zones the order is free again, at once.
	c.ok("set_server_setting", map[string]string{"key": "network_zones", "value": ""})
	seen = map[string]bool{}
	for range 200 {
		res := conns["a"].ok("get_paths", map[string]string{"domain": "testdom", "key": "k", "noverify": "1", "pathcount": "4"})
		seen[res["path1"]] = true
	}
	if len(seen) < 3 {
		t.Errorf("get_paths from a former zone a client after network_zones was cleared: first paths %v, want most devices", seen)
	}
}

func TestLocalNetworkSetting(t *testing.T) {
	tests := []struct {
		arg, want string
		bad       bool
	}{
		{"", "invalid Prefix", false},
		{"10.5.0.0/16", "10.5.0.0/16", false},
		{"10.5.0.7", "10.5.0.7/32", false},
		{"10.5.0.0/33", "", true},
		{"10.0.0.0/8 10.5.0.0/16", "", true},
	}
	for _, tc := range tests {
		set := config.New("trackerd", Settings)
		if _, err := set.Parse([]string{"--local_network=" + tc.arg}); err != nil {
			t.Fatal(err)
		}
		cfg, err := ConfigFromSet(set)
		if tc.bad {
			if err == nil {
				t.Errorf("ConfigFromSet(local_network=%q) = nil error, want ErrBadConfig", tc.arg)
			}
			continue
		}
		if err != nil || cfg.LocalNetwork.String() != tc.want {
			t.Errorf("ConfigFromSet(local_network=%q).LocalNetwork = %v, %v, want %s", tc.arg, cfg.LocalNetwork, err, tc.want)
		}
	}
}
