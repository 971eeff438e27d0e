package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/protocol"
)

// doFrom sends one raw request to the first tracker from local address ip,
// so that the tracker sees a client at ip.
func (c *Cluster) doFrom(t testing.TB, ip, cmd string, args map[string]string) map[string]string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", c.Trackers[0])
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(protocol.FormatRequest(cmd, args))); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	res, err := protocol.ParseResponse(strings.TrimRight(line, "\r\n"))
	if err != nil {
		t.Fatalf("%s %v from %s: %v", cmd, args, ip, err)
	}
	return res
}

// zoneSetup is a four-node cluster split into zones "a" (nodes 1 and 2)
// and "b" (nodes 3 and 4), with a client address in each zone.
type zoneSetup struct {
	*Cluster
	client map[string]string // zone → a loopback address in it
	zoneOf map[string]string // devid → zone
}

func startZones(t *testing.T) *zoneSetup {
	c := StartCluster(t, ClusterOpts{Nodes: 4})
	z := &zoneSetup{Cluster: c, client: map[string]string{}, zoneOf: map[string]string{}}
	nets := map[string][]string{}
	for i, n := range c.Nodes {
		zone := []string{"a", "a", "b", "b"}[i]
		nets[zone] = append(nets[zone], n.IP+"/32")
		for _, d := range n.DevIDs {
			z.zoneOf[strconv.Itoa(d)] = zone
		}
	}
	for _, zone := range []string{"a", "b"} {
		z.client[zone] = testenv.LoopbackIP(t)
		nets[zone] = append(nets[zone], z.client[zone]) // a bare address is a /32
		c.mustDo(t, "set_server_setting", map[string]string{"key": "zone_" + zone, "value": strings.Join(nets[zone], ", ")})
	}
	c.mustDo(t, "set_server_setting", map[string]string{"key": "network_zones", "value": "a,b"})
	return z
}

// upload stores key from the client in zone through create_open, a PUT and
// create_close, and returns the device create_open chose.
func (z *zoneSetup) upload(t *testing.T, zone, class, key string) string {
	t.Helper()
	open := z.doFrom(t, z.client[zone], "create_open", map[string]string{"domain": z.Opts.Domain, "key": key, "class": class, "fid": "0"})
	body := strings.Repeat(key, 50)
	req, _ := http.NewRequest(http.MethodPut, open["path"], strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", open["path"], err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", open["path"], resp.Status)
	}
	z.doFrom(t, z.client[zone], "create_close", map[string]string{"domain": z.Opts.Domain, "key": key, "fid": open["fid"],
		"devid": open["devid"], "path": open["path"], "size": strconv.Itoa(len(body))})
	return open["devid"]
}

// devices returns key's devices.
func (z *zoneSetup) devices(t *testing.T, key string) []string {
	t.Helper()
	res := z.mustDo(t, "file_info", map[string]string{"domain": z.Opts.Domain, "key": key, "devices": "1"})
	devs := strings.Split(res["devids"], ",")
	slices.Sort(devs)
	return devs
}

// perZone counts devs in each zone.
func (z *zoneSetup) perZone(devs []string) map[string]int {
	out := map[string]int{}
	for _, d := range devs {
		out[z.zoneOf[d]]++
	}
	return out
}

// waitPlaced waits until every key's devices satisfy ok.
func (z *zoneSetup) waitPlaced(t *testing.T, keys []string, what string, ok func(devs []string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range keys {
		for devs := z.devices(t, k); !ok(devs); devs = z.devices(t, k) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: devices %v (zones %v), want %s", k, devs, z.perZone(devs), what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestZones: nodes on loopback addresses in two zones. create_open and
// get_paths put the client's zone first, MultipleNetworks(2) puts a copy
// in each zone, HostsPerNetwork(a=1,b=2) one copy in zone a and two in
// zone b, and moving a file to a class that wants fewer copies trims it
// without losing a zone.
func TestZones(t *testing.T) {
	z := startZones(t)
	dom := z.Opts.Domain
	z.mustDo(t, "create_class", map[string]string{"domain": dom, "class": "net", "mindevcount": "2", "replpolicy": "MultipleNetworks(2)"})
	z.mustDo(t, "create_class", map[string]string{"domain": dom, "class": "perzone", "mindevcount": "1", "replpolicy": "HostsPerNetwork(a=1,b=2)"})
	pols := map[string]string{}
	res := z.mustDo(t, "get_domains", nil)
	for k, v := range res {
		if name, ok := strings.CutSuffix(k, "replpolicy"); ok {
			pols[res[name+"name"]] = v
		}
	}
	if pols["net"] != "MultipleNetworks(2)" || pols["perzone"] != "HostsPerNetwork(a=1,b=2)" {
		t.Errorf("get_domains: policies %v, want net MultipleNetworks(2) and perzone HostsPerNetwork(a=1,b=2)", pols)
	}

	var netKeys, zoneKeys []string
	for i := range 8 {
		for _, k := range []struct {
			class string
			keys  *[]string
		}{{"net", &netKeys}, {"perzone", &zoneKeys}} {
			zone := []string{"a", "b"}[i%2]
			key := fmt.Sprintf("%s/%s-%d", k.class, zone, i)
			if got := z.zoneOf[z.upload(t, zone, k.class, key)]; got != zone {
				t.Fatalf("create_open from zone %s chose a device in zone %s", zone, got)
			}
			*k.keys = append(*k.keys, key)
		}
	}
	z.waitPlaced(t, netKeys, "one copy in each zone", func(devs []string) bool {
		n := z.perZone(devs)
		return len(devs) == 2 && n["a"] == 1 && n["b"] == 1
	})
	// One device per node, so distinct devices are distinct hosts.
	z.waitPlaced(t, zoneKeys, "one copy in zone a, two in zone b", func(devs []string) bool {
		n := z.perZone(devs)
		return len(devs) == 3 && n["a"] == 1 && n["b"] == 2
	})

	// get_paths: the client's zone first, from the path cache too.
	for i := range 10 {
		zone := []string{"a", "b"}[i%2]
		other := map[string]string{"a": "b", "b": "a"}[zone]
		for _, verify := range []string{"1", "0"} {
			res := z.doFrom(t, z.client[zone], "get_paths", map[string]string{"domain": dom, "key": netKeys[0], "noverify": verify, "pathcount": "2"})
			got := []string{z.pathZone(t, res["path1"]), z.pathZone(t, res["path2"])}
			if !slices.Equal(got, []string{zone, other}) {
				t.Fatalf("get_paths noverify=%s from zone %s: paths in zones %v, want [%s %s] (%v)", verify, zone, got, zone, other, res)
			}
		}
	}

	// Over-replicated for its new class: three copies trimmed to two, one
	// in each zone.
	moved := zoneKeys[:2]
	for _, k := range moved {
		z.mustDo(t, "updateclass", map[string]string{"domain": dom, "key": k, "class": "net"})
	}
	z.waitPlaced(t, moved, "trimmed to one copy in each zone", func(devs []string) bool {
		n := z.perZone(devs)
		return len(devs) == 2 && n["a"] == 1 && n["b"] == 1
	})
}

// pathZone is the zone of the device a get_paths URL names.
func (z *zoneSetup) pathZone(t *testing.T, path string) string {
	t.Helper()
	u, err := url.Parse(path)
	parts := strings.Split(u.Path, "/")
	if err != nil || len(parts) < 2 || z.zoneOf[strings.TrimPrefix(parts[1], "dev")] == "" {
		t.Fatalf("path %q names no known device", path)
	}
	return z.zoneOf[strings.TrimPrefix(parts[1], "dev")]
}
