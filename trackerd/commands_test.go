package trackerd

import (
	"fmt"
	"mogfs/nodeproto"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

type args = map[string]string

// TestArgumentErrors checks the error code of every command's argument
// validation, without storage nodes.
func TestArgumentErrors(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "testdom"})
	tests := []struct {
		cmd  string
		args args
		want string
	}{
		{"create_open", args{"key": "k"}, "no_domain"},
		{"create_open", args{"domain": "nosuch", "key": "k"}, "unreg_domain"},
		{"create_open", args{"domain": "testdom", "key": "k", "class": "nosuch"}, "unreg_class"},
		{"create_close", args{"domain": "testdom"}, "no_fid"},
		{"create_close", args{"domain": "testdom", "fid": "1"}, "no_devid"},
		{"create_close", args{"domain": "testdom", "fid": "1", "devid": "1"}, "no_path"},
		{"create_close", args{"domain": "testdom", "fid": "1", "devid": "1", "path": "x", "checksum": "MD5:zz"}, "invalid_checksum_format"},
		{"create_close", args{"domain": "testdom", "fid": "1", "devid": "1", "path": "x", "checksum": "MD5:" + strings.Repeat("0", 40)}, "invalid_checksum_format"},
		{"create_close", args{"domain": "testdom", "fid": "1", "devid": "1", "path": "http://x/dev1/0/000/000/0000000001.fid"}, "bogus_args"},
		{"get_paths", args{"domain": "testdom"}, "no_key"},
		{"get_paths", args{"domain": "testdom", "key": "nosuch", "noverify": "1"}, "unknown_key"},
		{"get_paths", args{"domain": "nosuch", "key": "x"}, "unreg_domain"},
		{"delete", args{"domain": "testdom", "key": "nosuch"}, "unknown_key"},
		{"delete", args{"domain": "testdom"}, "no_key"},
		{"rename", args{"domain": "testdom", "from_key": "a"}, "no_key"},
		{"rename", args{"domain": "testdom", "from_key": "a", "to_key": "b"}, "unknown_key"},
		{"list_keys", args{"domain": "testdom"}, "none_match"},
		{"list_keys", args{"domain": "testdom", "prefix": "a", "after": "b"}, "after_mismatch"},
		{"file_info", args{"domain": "testdom", "key": "nosuch"}, "unknown_key"},
		{"file_debug", args{"domain": "testdom", "key": "nosuch"}, "unknown_key"},
		{"updateclass", args{"domain": "testdom", "key": "k"}, "no_class"},
		{"updateclass", args{"domain": "testdom", "key": "k", "class": "nosuch"}, "class_not_found"},
		{"updateclass", args{"domain": "testdom", "key": "k", "class": "default"}, "invalid_key"},
		{"create_domain", args{}, "no_domain"},
		{"create_domain", args{"domain": "testdom"}, "domain_exists"},
		{"delete_domain", args{"domain": "nosuch"}, "domain_not_found"},
		{"create_class", args{"domain": "testdom"}, "no_class"},
		{"create_class", args{"domain": "testdom", "class": "c"}, "invalid_mindevcount"},
		{"create_class", args{"domain": "testdom", "class": "c", "mindevcount": "0"}, "invalid_mindevcount"},
		{"create_class", args{"domain": "testdom", "class": "c", "mindevcount": "2", "hashtype": "CRC"}, "invalid_hashtype"},
		{"create_class", args{"domain": "testdom", "class": "c", "mindevcount": "2", "replpolicy": "Bogus(1)"}, "invalid_replpolicy"},
		{"create_class", args{"domain": "nosuch", "class": "c", "mindevcount": "2"}, "domain_not_found"},
		{"update_class", args{"domain": "testdom", "class": "nosuch", "mindevcount": "2"}, "class_not_found"},
		{"delete_class", args{"domain": "testdom", "class": "default"}, "nodel_default_class"},
		{"delete_class", args{"domain": "testdom", "class": "nosuch"}, "class_not_found"},
		{"create_host", args{}, "no_host"},
		{"create_host", args{"host": "h"}, "no_ip"},
		{"create_host", args{"host": "h", "ip": "127.0.0.1"}, "no_port"},
		{"create_host", args{"host": "h", "ip": "127.0.0.1", "port": "7500", "status": "weird"}, "unknown_state"},
		{"update_host", args{"host": "nosuch"}, "host_not_found"},
		{"delete_host", args{"host": "nosuch"}, "unknown_host"},
		{"create_device", args{"devid": "1", "state": "weird"}, "invalid_state"},
		{"create_device", args{"devid": "x"}, "invalid_devid"},
		{"create_device", args{"devid": "1"}, "bad_args"},
		{"create_device", args{"devid": "1", "hostid": "99"}, "unknown_hostid"},
		{"create_device", args{"devid": "1", "hostname": "nosuch"}, "unknown_host"},
		{"set_state", args{"host": "h", "device": "1"}, "bad_params"},
		{"set_state", args{"host": "h", "device": "99", "state": "down"}, "no_device"},
		{"set_weight", args{"host": "h", "device": "1", "weight": "x"}, "bad_params"},
		{"server_setting", args{}, "bad_params"},
		{"set_server_setting", args{"key": "nope", "value": "1"}, "not_writable"},
		{"set_server_setting", args{"key": "skip_mkcol", "value": "maybe"}, "invalid_format"},
		{"set_server_setting", args{"key": "memcache_ttl", "value": "x"}, "invalid_format"},
		{"set_server_setting", args{"key": "zone_a", "value": "10.0.0.0/33"}, "invalid_format"},
		{"rebalance_status", args{}, "no_rebal_state"},
		{"rebalance_start", args{}, "no_rebal_policy"},
		{"rebalance_stop", args{}, "rebal_not_started"},
		{"rebalance_set_policy", args{"policy": "bogus_key=1"}, "bad_rebal_pol"},
		{"mogfs_getattr", args{"domain": "testdom", "path": "nosuch"}, "unknown_key"},
		{"plugin_foo", args{"domain": "testdom"}, "unknown_command"},
	}
	for _, tc := range tests {
		t.Run(tc.cmd+"_"+tc.want, func(t *testing.T) {
			if got := c.code(tc.cmd, tc.args); got != tc.want {
				t.Errorf("%s %v = ERR %s, want %s", tc.cmd, tc.args, got, tc.want)
			}
		})
	}
}

func TestAdminCommands(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "d"})
	if got := c.ok("create_host", args{"host": "h1", "ip": "127.0.0.9", "port": "7500", "status": "alive"}); got["hostid"] != "1" || got["hostname"] != "h1" {
		t.Errorf("create_host = %v", got)
	}
	if got := c.code("create_host", args{"host": "h1", "ip": "127.0.0.8", "port": "7500"}); got != "host_exists" {
		t.Errorf("duplicate create_host = %s", got)
	}
	if got := c.code("create_host", args{"host": "h2", "ip": "127.0.0.9", "port": "7500"}); got != "dup" {
		t.Errorf("create_host on a used ip = %s, want dup", got)
	}
	c.ok("update_host", args{"host": "h1", "getport": "7600"})
	h := c.ok("get_hosts", nil)
	if h["hosts"] != "1" || h["host1_http_get_port"] != "7600" || h["host1_hostip"] != "127.0.0.9" || h["host1_status"] != "alive" {
		t.Errorf("get_hosts = %v", h)
	}
	c.ok("create_device", args{"hostname": "h1", "devid": "3"})
	if got := c.code("create_device", args{"hostname": "h1", "devid": "3"}); got != "existing_devid" {
		t.Errorf("duplicate create_device = %s", got)
	}
	if got := c.code("delete_host", args{"host": "h1"}); got != "host_not_empty" {
		t.Errorf("delete_host with a device = %s", got)
	}
	c.ok("create_host", args{"host": "h2", "ip": "127.0.0.10", "port": "7500"})
	if got := c.code("set_state", args{"host": "h2", "device": "3", "state": "down"}); got != "host_mismatch" {
		t.Errorf("set_state on the wrong host = %s", got)
	}
	c.ok("set_state", args{"host": "h1", "device": "3", "state": "dead"})
	if got := c.code("set_state", args{"host": "h1", "device": "3", "state": "alive"}); got != "state_too_high" {
		t.Errorf("set_state dead->alive = %s", got)
	}
	c.ok("set_state", args{"host": "h1", "device": "3", "state": "down"})
	c.ok("set_weight", args{"host": "h1", "device": "3", "weight": "50"})
	d := c.ok("get_devices", args{"devid": "3"})
	if d["devices"] != "1" || d["dev1_status"] != "down" || d["dev1_weight"] != "50" || d["dev1_hostid"] != "1" {
		t.Errorf("get_devices = %v", d)
	}
	c.ok("delete_host", args{"host": "h2"})

	// classes, the implicit default class, hashtype
	if got := c.ok("create_class", args{"domain": "d", "class": "c", "mindevcount": "3", "hashtype": "MD5", "replpolicy": ""}); got["class"] != "c" || got["mindevcount"] != "3" || got["domain"] != "d" {
		t.Errorf("create_class = %v", got)
	}
	if got := c.code("create_class", args{"domain": "d", "class": "c", "mindevcount": "3"}); got != "class_exists" {
		t.Errorf("duplicate create_class = %s", got)
	}
	c.ok("update_class", args{"domain": "d", "class": "default", "mindevcount": "4"})
	g := c.ok("get_domains", nil)
	want := args{"domains": "1", "domain1": "d", "domain1classes": "2",
		"domain1class1name": "default", "domain1class1mindevcount": "4", "domain1class1replpolicy": "MultipleHosts()", "domain1class1hashtype": "NONE",
		"domain1class2name": "c", "domain1class2mindevcount": "3", "domain1class2hashtype": "MD5"}
	for k, v := range want {
		if g[k] != v {
			t.Errorf("get_domains[%s] = %q, want %q (%v)", k, g[k], v, g)
		}
	}
	if got := c.code("delete_domain", args{"domain": "d"}); got != "domain_has_classes" {
		t.Errorf("delete_domain with a class = %s", got)
	}
	if got := c.ok("delete_class", args{"domain": "d", "class": "c"}); got["class"] != "c" || got["domain"] != "d" {
		t.Errorf("delete_class = %v", got)
	}
	c.ok("delete_domain", args{"domain": "d"})

	// server settings
	c.ok("set_server_setting", args{"key": "skip_mkcol", "value": "yes"})
	if got := c.ok("server_setting", args{"key": "skip_mkcol"}); got["value"] != "1" {
		t.Errorf("server_setting skip_mkcol = %v", got)
	}
	c.ok("set_server_setting", args{"key": "fsck_checksum", "value": "MD5"})
	s := c.ok("server_settings", nil)
	found := map[string]string{}
	n, _ := strconv.Atoi(s["key_count"])
	for i := 1; i <= n; i++ {
		found[s[fmt.Sprintf("key_%d", i)]] = s[fmt.Sprintf("value_%d", i)]
	}
	if found["skip_mkcol"] != "1" || found["fsck_checksum"] != "MD5" || found["schema_version"] == "" {
		t.Errorf("server_settings = %v", found)
	}

	// fsck and rebalance control
	c.ok("fsck_reset", args{"policy_only": "1"})
	c.ok("fsck_start", nil)
	if got := c.code("fsck_start", nil); got != "fsck_running" {
		t.Errorf("second fsck_start = %s", got)
	}
	if st := c.ok("fsck_status", nil); st["running"] != "1" || st["policy_only"] != "1" {
		t.Errorf("fsck_status = %v", st)
	}
	c.ok("fsck_stop", nil)
	c.ok("fsck_clearlog", nil)
	if got := c.ok("fsck_getlog", nil); got["row_count"] != "0" {
		t.Errorf("fsck_getlog = %v", got)
	}
	c.ok("rebalance_set_policy", args{"policy": "from_devices=3 to_hosts=1"})
	if got := c.ok("rebalance_start", nil); !strings.Contains(got["state"], "time_started=") {
		t.Errorf("rebalance_start = %v", got)
	}
	if got := c.code("fsck_start", nil); got != "rebal_running" {
		t.Errorf("fsck_start during rebalance = %s", got)
	}
	c.ok("rebalance_status", nil)
	c.ok("rebalance_stop", nil)
	c.ok("rebalance_reset", nil)
	if got := c.ok("replicate_now", nil); got["count"] != "0" {
		t.Errorf("replicate_now = %v", got)
	}
	if got := c.ok("clear_cache", args{"all": "1"}); got["all"] != "1" {
		t.Errorf("clear_cache = %v", got)
	}
	c.ok("do_monitor_round", nil)
	c.ok("stats", nil)
}

func TestUploadAndNamespace(t *testing.T) {
	tr, addr := startTracker(t)
	c := dial(t, addr)
	n1, n2 := startNode(t, 1), startNode(t, 2)
	setup(t, c, n1, n2)

	open := c.ok("create_open", args{"domain": "testdom", "key": "/a/b.txt", "class": "two", "fid": "0", "multi_dest": "1"})
	if open["dev_count"] != "2" || open["devid_1"] == open["devid_2"] || !strings.HasPrefix(open["path_1"], "http://127.") {
		t.Fatalf("create_open = %v, want two devices on distinct hosts", open)
	}
	fid, _ := strconv.ParseInt(open["fid"], 10, 64)
	if want := nodeproto.FIDPath(atoi(open["devid_1"]), fid); !strings.HasSuffix(open["path_1"], want) {
		t.Errorf("path_1 = %s, want suffix %s", open["path_1"], want)
	}
	closeArgs := args{"domain": "testdom", "key": "/a/b.txt", "fid": open["fid"], "devid": open["devid_1"], "path": open["path_1"], "size": "5"}
	// Nothing uploaded yet: the HEAD check fails and the upload is dropped.
	if got := c.code("create_close", closeArgs); got != "size_verify_error" {
		t.Errorf("create_close before PUT = %s, want size_verify_error", got)
	}
	if got := c.code("create_close", closeArgs); got != "no_temp_file" {
		t.Errorf("second create_close = %s, want no_temp_file", got)
	}

	body := "hello"
	open = c.ok("create_open", args{"domain": "testdom", "key": "/a/b.txt", "class": "two", "multi_dest": "1"})
	put(t, open["path_1"], body)
	closeArgs = args{"domain": "testdom", "key": "/a/b.txt", "fid": open["fid"], "devid": open["devid_2"], "path": open["path_2"], "size": "5"}
	closeArgs["path"] = strings.Replace(open["path_2"], "/dev", "/xdev", 1)
	if got := c.code("create_close", closeArgs); got != "bogus_args" {
		t.Errorf("create_close with another path = %s, want bogus_args", got)
	}
	closeArgs = args{"domain": "testdom", "key": "/a/b.txt", "fid": open["fid"], "devid": open["devid_1"], "path": open["path_1"], "size": "6"}
	if got := c.code("create_close", closeArgs); got != "size_mismatch" {
		t.Errorf("create_close with a wrong size = %s, want size_mismatch", got)
	}

	fidStr := store(t, c, "/a/b.txt", "two", body)
	info := c.ok("file_info", args{"domain": "testdom", "key": "/a/b.txt", "devices": "1"})
	if info["fid"] != fidStr || info["length"] != "5" || info["class"] != "two" || info["devcount"] != "1" || info["devids"] == "" || info["domain"] != "testdom" {
		t.Errorf("file_info = %v", info)
	}
	for _, nv := range []string{"1", "0"} {
		p := c.ok("get_paths", args{"domain": "testdom", "key": "/a/b.txt", "noverify": nv})
		if p["paths"] != "1" {
			t.Fatalf("get_paths noverify=%s = %v", nv, p)
		}
		resp, err := http.Get(p["path1"])
		if err != nil || resp.StatusCode != 200 || resp.ContentLength != 5 {
			t.Errorf("GET %s = %v %v", p["path1"], resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	dbg := c.ok("file_debug", args{"domain": "testdom", "key": "/a/b.txt"})
	if dbg["fid_fid"] != fidStr || dbg["checksum"] != "NONE" || dbg["replqueue_fid"] != fidStr || dbg["devpath_"+info["devids"]] == "" {
		t.Errorf("file_debug = %v", dbg)
	}
	if got := c.ok("file_debug", args{"fid": "999999"}); got["checksum"] != "NONE" || len(got) != 1 {
		t.Errorf("file_debug unknown fid = %v", got)
	}
	// A copy recorded on a device that has no row gets no path (not an empty one).
	if err := tr.store.AddFileOn(t.Context(), int64(atoi(fidStr)), 77); err != nil {
		t.Fatal(err)
	}
	dbg = c.ok("file_debug", args{"fid": fidStr})
	if _, has77 := dbg["devpath_77"]; has77 || !strings.Contains(dbg["devids"], "77") || dbg["devpath_"+info["devids"]] == "" {
		t.Errorf("file_debug with a copy on unknown device 77 = %v; want devids with 77 and no devpath_77", dbg)
	}
	if err := tr.store.RemoveFileOn(t.Context(), int64(atoi(fidStr)), 77); err != nil {
		t.Fatal(err)
	}

	// empty key abandons the upload but answers OK
	o := c.ok("create_open", args{"domain": "testdom", "key": "x", "multi_dest": "1"})
	c.ok("create_close", args{"domain": "testdom", "key": "", "fid": o["fid"], "devid": o["devid_1"], "path": o["path_1"]})
	// a device not offered: invalid_destdev
	o = c.ok("create_open", args{"domain": "testdom", "key": "x"})
	other := "1"
	if o["devid"] == "1" {
		other = "2"
	}
	snapURL, _ := devURL(tr.mon.Snapshot(), atoi(other), int64(atoi(o["fid"])), false, "127.0.0.1", false)
	if got := c.code("create_close", args{"domain": "testdom", "key": "x", "fid": o["fid"], "devid": other, "path": snapURL}); got != "invalid_destdev" {
		t.Errorf("create_close on a device not offered = %s", got)
	}

	store(t, c, "/a/c.txt", "", "x")
	store(t, c, "/z", "", "zz")
	if got := c.code("rename", args{"domain": "testdom", "from_key": "/a/b.txt", "to_key": "/a/c.txt"}); got != "key_exists" {
		t.Errorf("rename onto an existing key = %s", got)
	}
	c.ok("rename", args{"domain": "testdom", "from_key": "/a/c.txt", "to_key": "/a/d.txt"})
	lk := c.ok("list_keys", args{"domain": "testdom", "prefix": "/a/", "limit": "1"})
	if lk["key_count"] != "1" || lk["key_1"] != "/a/b.txt" || lk["next_after"] != "/a/b.txt" {
		t.Errorf("list_keys page 1 = %v", lk)
	}
	lk = c.ok("list_keys", args{"domain": "testdom", "prefix": "/a/", "after": "/a/b.txt"})
	if lk["key_count"] != "1" || lk["key_1"] != "/a/d.txt" {
		t.Errorf("list_keys page 2 = %v", lk)
	}
	if got := c.code("list_keys", args{"domain": "testdom", "prefix": "/a/", "after": "/a/d.txt"}); got != "none_match" {
		t.Errorf("list_keys past the end = %s", got)
	}
	lf := c.ok("list_fids", args{"from": "0", "to": "10"})
	if lf["fid_count"] != "3" || lf["fid_1_domain"] != "testdom" {
		t.Errorf("list_fids = %v", lf)
	}
	c.ok("updateclass", args{"domain": "testdom", "key": "/a/d.txt", "class": "two"})
	if got := c.ok("file_info", args{"domain": "testdom", "key": "/a/d.txt"}); got["class"] != "two" {
		t.Errorf("class after updateclass = %v", got)
	}
	if got := c.code("delete_domain", args{"domain": "testdom"}); got != "domain_has_files" {
		t.Errorf("delete_domain with files = %s", got)
	}
	if got := c.code("delete_class", args{"domain": "testdom", "class": "two"}); got != "class_has_files" {
		t.Errorf("delete_class with files = %s", got)
	}
	c.ok("delete", args{"domain": "testdom", "key": "/a/d.txt"})
	if got := c.code("delete", args{"domain": "testdom", "key": "/a/d.txt"}); got != "unknown_key" {
		t.Errorf("second delete = %s", got)
	}
	// overwrite: a new fid for the same key
	fid2 := store(t, c, "/a/b.txt", "two", "world!")
	if fid2 == fidStr {
		t.Errorf("overwrite kept fid %s", fid2)
	}
	if got := c.ok("file_info", args{"domain": "testdom", "key": "/a/b.txt"}); got["length"] != "6" || got["fid"] != fid2 {
		t.Errorf("file_info after overwrite = %v", got)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
