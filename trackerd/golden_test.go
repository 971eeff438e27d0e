package trackerd

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"mogfs/protocol"
)

// TestWireTranscripts replays testdata/transcript.txt (exchanges captured
// from the original tracker) and compares the replies as parsed arguments.
func TestWireTranscripts(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	setup(t, c, startNode(t, 1), startNode(t, 2))

	f, err := os.Open("testdata/transcript.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	var got string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "PUT "):
			put(t, vars["$path"], strings.Repeat("x", atoi(strings.TrimPrefix(line, "PUT "))))
		case strings.HasPrefix(line, "C: "):
			req := line[3:]
			for k, v := range vars {
				req = strings.ReplaceAll(req, k, protocol.Escape(v))
			}
			got = c.line(req)
			if res, err := protocol.ParseResponse(got); err == nil && res["path_1"] != "" {
				vars["$fid"], vars["$devid"], vars["$path"] = res["fid"], res["devid_1"], res["path_1"]
			}
		case strings.HasPrefix(line, "S: "):
			want := line[3:]
			for k, v := range vars {
				want = strings.ReplaceAll(want, k, v)
			}
			compareReply(t, n, got, want)
		default:
			t.Fatalf("line %d: cannot parse %q", n, line)
		}
	}
}

func compareReply(t *testing.T, n int, got, want string) {
	t.Helper()
	wres, werr := protocol.ParseResponse(want)
	gres, gerr := protocol.ParseResponse(got)
	if werr != nil || gerr != nil {
		if got != want {
			t.Errorf("line %d: reply %q, want %q", n, got, want)
		}
		return
	}
	if strings.HasPrefix(want, "OK ") && !strings.HasPrefix(got, "OK ") {
		t.Errorf("line %d: reply %q, want %q", n, got, want)
	}
	for k, w := range wres {
		g, ok := gres[k]
		switch {
		case !ok:
			t.Errorf("line %d: reply %q lacks %s (want %q)", n, got, k, want)
		case w == "*" && g == "", w != "*" && w != "?" && g != w:
			t.Errorf("line %d: %s = %q, want %q (reply %q)", n, k, g, w, got)
		}
	}
	for k := range gres {
		if _, ok := wres[k]; !ok {
			t.Errorf("line %d: extra key %s in %q", n, k, got)
		}
	}
}
