package trackerd

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/stord"
)

// TestCreateOpenSlowHostLast: of three nodes, the one whose probes are
// answered 150 ms late gets no new file while the others can take it, and
// comes last in a multi_dest reply. Without the ordering a third of the
// create_opens would name it.
func TestCreateOpenSlowHostLast(t *testing.T) {
	slow := startNodeWrapped(t, func(h *stord.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/usage") {
				time.Sleep(150 * time.Millisecond)
			}
			h.ServeHTTP(w, r)
		})
	}, 3)
	_, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"), func(*Config) {})
	c := dial(t, addr)
	setup(t, c, startNode(t, 1), startNode(t, 2), slow)
	streak := 0
	for deadline := time.Now().Add(10 * time.Second); streak < 30; {
		res := c.ok("create_open", map[string]string{"domain": "testdom", "key": "k", "fid": "0"})
		if res["devid"] == "3" {
			streak = 0
		} else {
			streak++
		}
		if time.Now().After(deadline) {
			t.Fatalf("create_open still names the slow node's device after 10 s (last streak %d)", streak)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := c.ok("create_open", map[string]string{"domain": "testdom", "key": "k", "fid": "0", "multi_dest": "1"})
	if res["dev_count"] != "3" || res["devid_3"] != "3" {
		t.Errorf("multi_dest create_open = %v, want device 3 last of 3", res)
	}
}
