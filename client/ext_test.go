package client

import (
	"reflect"
	"testing"
	"time"

	"mogfs/protocol"
)

func TestParseList(t *testing.T) {
	r := map[string]string{
		"count": "3", "next_after": "c", "done": "1",
		"e1_name": "a.txt", "e1_type": "file", "e1_fid": "7", "e1_length": "6", "e1_class": "two", "e1_devcount": "2",
		"e1_mode": "", "e1_uid": "", "e1_gid": "", "e1_mtime": "", "e1_ctime": "", "e1_target": "",
		"e2_name": "b", "e2_type": "dir", "e2_mode": "40755", "e2_uid": "1000", "e2_gid": "100",
		"e2_mtime": "1700000000.5", "e2_ctime": "1700000001", "e2_target": "",
		"e3_name": "c", "e3_type": "symlink", "e3_fid": "9", "e3_mode": "120777", "e3_target": "a.txt",
	}
	got, err := parseList(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "a.txt", Type: "file", FID: 7, Length: 6, Class: "two", DevCount: 2},
		{Name: "b", Type: "dir", Attr: &Attr{IsDir: true, Mode: 040755, UID: 1000, GID: 100,
			MTime: time.Unix(1700000000, 5e8), CTime: time.Unix(1700000001, 0)}},
		{Name: "c", Type: "symlink", FID: 9, Attr: &Attr{Mode: 0120777, Target: "a.txt"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseList = %+v\nwant %+v", got, want)
	}
	if _, err := parseList(map[string]string{"count": "1", "e1_mode": "9x"}); err == nil {
		t.Error("parseList(bad mode) succeeded")
	}
}

func FuzzParseReplies(f *testing.F) {
	f.Add("count=2&e1_name=a&e1_mode=100644&e2_mtime=x", "fid=1&dev_count=3&path_1=http://x&devid_1=2")
	f.Add("count=99999999999", "fid=0")
	f.Fuzz(func(t *testing.T, a, b string) {
		// Never panic on any reply a tracker might send; stay bounded.
		for _, s := range []string{a, b} {
			r := protocol.DecodeArgs(s)
			parseList(r)
			parseCreateOpen(r)
			parsePaths(r)
			parseFileInfo(r)
			parseDomains(r)
			parseHosts(r)
			parseDevices(r)
		}
	})
}
