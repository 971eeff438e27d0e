package cli

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"mogfs/protocol"
)

// debugReply2_73 is MogileFS 2.73's answer to file_debug by key
// (wire-transcripts.md), its one path on dev4.
const debugReply2_73 = "OK fid_dmid=1&checksum=NONE&devpath_4=http://127.0.0.3:7500/dev4/0/000/000/0000000002.fid&replqueue_nexttry=0&fid_fid=2&replqueue_failcount=0&fid_domain=testdom&replqueue_fromdevid=&fid_dkey=/proto/test+key%2B%C3%BC.txt&fid_class=two&fid_devcount=1&fid_length=27&replqueue_fid=2&replqueue_flags=0&devids=4&fid_classid=1"

func TestSplitDebug(t *testing.T) {
	d, err := protocol.ParseResponse(debugReply2_73)
	if err != nil {
		t.Fatal(err)
	}
	d["a_b_c"], d["x-y_z"], d["_lead"], d["devpath_10"] = "1", "2", "3", "http://h/dev10/x.fid"
	parts, paths := splitDebug(d)
	want := map[string]map[string]string{
		"fid": {"dmid": "1", "fid": "2", "domain": "testdom", "dkey": "/proto/test key+ü.txt", "class": "two",
			"devcount": "1", "length": "27", "classid": "1"},
		"replqueue": {"nexttry": "0", "failcount": "0", "fromdevid": "", "fid": "2", "flags": "0"},
		"a_b":       {"c": "1"}, // Perl's greedy ^(\w+)_; x-y_z and _lead do not match it
	}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("splitDebug parts = %v, want %v", parts, want)
	}
	if wantPaths := []string{"http://127.0.0.3:7500/dev4/0/000/000/0000000002.fid", "http://h/dev10/x.fid"}; !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("splitDebug paths = %q, want %q (devid order)", paths, wantPaths)
	}
}

// fakeTracker answers every request line with reply and records the lines.
func fakeTracker(t *testing.T, reply string) (addr string, requests func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mu.Lock()
					got = append(got, strings.TrimSpace(line))
					mu.Unlock()
					c.Write([]byte(reply + "\r\n"))
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestFileDebug(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := map[string]string{"/dev1/f.fid": "hello", "/dev3/f.fid": "jello"}[r.URL.Path]
		if body == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Write([]byte(body))
	}))
	defer node.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	reply := protocol.FormatOK(map[string]string{
		"fid_fid": "7", "fid_dmid": "1", "fid_dkey": "k", "fid_length": "5", "fid_classid": "0", "fid_devcount": "4",
		"fid_domain": "d", "fid_class": "default",
		"devpath_1": node.URL + "/dev1/f.fid", "devpath_2": node.URL + "/dev2/f.fid", "devpath_3": node.URL + "/dev3/f.fid",
		"devpath_4": "http://" + dead + "/dev4/f.fid", "devids": "1,2,3,4",
		"replqueue_fid": "7", "replqueue_nexttry": "2147483647", "replqueue_failcount": "3", "replqueue_fromdevid": "", "replqueue_flags": "0",
		"checksum": "NONE",
	})
	tracker, requests := fakeTracker(t, strings.TrimRight(reply, "\r\n"))

	rows := `
Tempfile and/or queue rows...
-    replqueue
             failcount:                    3
                   fid:                    7
                 flags:                    0
             fromdevid:                     
               nexttry:           2147483647

- File Row:
     class:              default
   classid:                    0
  devcount:                    4
      dkey:                    k
      dmid:                    1
    domain:                    d
       fid:                    7
    length:                    5

- Raw devids: 1,2,3,4

- Stored checksum: NONE
`
	const modified = " - Last-Modified: Mon, 02 Jan 2006 15:04:05 GMT\n"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"fetch", []string{"--key=k", "--domain=d"}, "Fetching and summing paths...\n" +
			"\nResults for path: NODE/dev1/f.fid\n - MD5 Hash: HELLOSUM\n - Length: 5\n" + modified + " - HTTP result: 200 OK\n" +
			"\nResults for path: NODE/dev2/f.fid\n - ERROR: File copy is missing: 404 Not Found\n" +
			"\nResults for path: NODE/dev3/f.fid\n - ERROR: Hash does not match first path!\n - MD5 Hash: JELLOSUM\n - Length: 5\n" + modified + " - HTTP result: 200 OK\n" +
			"\nResults for path: http://DEAD/dev4/f.fid\n - ERROR: Hash does not match first path!\n - ERROR: Length does not match file row!\n" +
			" - MD5 Hash: d41d8cd98f00b204e9800998ecf8427e\n - Length: 0\n - HTTP result: 500 Can't connect to DEAD (Connection refused)\n" + rows},
		{"stat", []string{"--fid=7", "--paths=stat"}, "Checking status of paths...\n" +
			"\nResults for path: NODE/dev1/f.fid\n - Length: 5\n" + modified + " - HTTP result: 200 OK\n" +
			"\nResults for path: NODE/dev2/f.fid\n - ERROR: File copy is missing: 404 Not Found\n" +
			"\nResults for path: NODE/dev3/f.fid\n - Length: 5\n" + modified + " - HTTP result: 200 OK\n" +
			"\nResults for path: http://DEAD/dev4/f.fid\n - HTTP result: 500 Can't connect to DEAD (Connection refused)\n" + rows},
		{"print", []string{"--fid", "7", "--paths", "print"}, "Paths...\n - NODE/dev1/f.fid\n - NODE/dev2/f.fid\n - NODE/dev3/f.fid\n - http://DEAD/dev4/f.fid\n" + rows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := Env{Stdout: &out, Stderr: &errb, ConfFiles: []string{}}
			if rc := FileDebug(t.Context(), append(tc.args, "--trackers="+tracker), env); rc != 0 {
				t.Fatalf("FileDebug(%q) = %d, stderr %q", tc.args, rc, errb.String())
			}
			want := strings.NewReplacer("NODE", node.URL, "DEAD", dead, "HELLOSUM", md5hex("hello"), "JELLOSUM", md5hex("jello")).Replace(tc.want)
			if got := out.String(); got != want {
				t.Errorf("FileDebug(%q) =\n%s\nwant\n%s", tc.args, got, want)
			}
		})
	}
	var got []map[string]string
	for _, line := range requests() {
		r, err := protocol.ParseRequest(line)
		if err != nil || r.Cmd != "file_debug" {
			t.Fatalf("request %q: %v", line, err)
		}
		got = append(got, r.Args)
	}
	byFID := map[string]string{"domain": "mogfiledebug-unset", "fid": "7"}
	if want := []map[string]string{{"domain": "d", "key": "k"}, byFID, byFID}; !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFileDebugNoFileRow(t *testing.T) {
	tracker, _ := fakeTracker(t, "OK checksum=NONE&delqueue_fid=9&delqueue_nexttry=0&delqueue_failcount=0")
	var out, errb bytes.Buffer
	if rc := FileDebug(t.Context(), []string{"--trackers=" + tracker, "--fid=9"}, Env{Stdout: &out, Stderr: &errb, ConfFiles: []string{}}); rc != 0 {
		t.Fatalf("FileDebug = %d, %q", rc, errb.String())
	}
	want := "No valid-ish paths found\n\nTempfile and/or queue rows...\n-     delqueue\n" +
		"             failcount:                    0\n                   fid:                    9\n               nexttry:                    0\n" +
		"- ERROR: No file row was found!\nFile may have been deleted or never closed.\nSee above for any matching rows from tempfile or delqueue.\n" +
		"\n- Stored checksum: NONE\n"
	if out.String() != want {
		t.Errorf("FileDebug of a deleted fid =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestFileDebugErrors(t *testing.T) {
	tracker, _ := fakeTracker(t, "ERR unknown_key unknown_key")
	for _, tc := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"--domain=d"}, 2, "missing --key or --fid"},
		{[]string{"--key=k"}, 2, "missing --domain"},
		{[]string{"--fid=x"}, 2, "--fid must be a number"},
		{[]string{"--fid=1", "--paths=look"}, 2, "--paths must be print, stat or fetch"},
		{[]string{"--domain=d", "--key=k"}, 1, "error fetching fid info: file_debug k: mogilefs: unknown_key"},
	} {
		var out, errb bytes.Buffer
		rc := FileDebug(t.Context(), append(tc.args, "--trackers="+tracker), Env{Stdout: &out, Stderr: &errb, ConfFiles: []string{}})
		if rc != tc.rc || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("FileDebug(%q) = %d, stderr %q; want %d and %q", tc.args, rc, errb.String(), tc.rc, tc.msg)
		}
	}
}
