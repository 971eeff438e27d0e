package trackerd

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"mogfs/nodeproto"
	"mogfs/stord"
)

// TestMkcolCached: consecutive fids share their directories, so after the
// first create_open on a device the next ones send no MKCOL (as the
// original's one-hour cache), while the directories really exist on disk.
func TestMkcolCached(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "dev1"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mkcols atomic.Int64
	h := stord.NewHandler(root, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "MKCOL" {
			mkcols.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	fc := &fileCmds{nodes: &nodeproto.Client{HTTP: srv.Client()}, log: slog.New(slog.DiscardHandler)}

	fc.mkcol(t.Context(), srv.URL+"/dev1/0/000/000/0000000001.fid")
	if got := mkcols.Load(); got != 3 {
		t.Fatalf("first create_open sent %d MKCOLs, want 3", got)
	}
	if fi, err := os.Stat(filepath.Join(root, "dev1/0/000/000")); err != nil || !fi.IsDir() {
		t.Fatalf("directory not made: %v", err)
	}
	fc.mkcol(t.Context(), srv.URL+"/dev1/0/000/000/0000000002.fid")
	if got := mkcols.Load(); got != 3 {
		t.Errorf("second create_open in the same directory sent %d MKCOLs in all, want still 3", got)
	}
	fc.mkcol(t.Context(), srv.URL+"/dev1/0/000/001/0000001000.fid")
	if got := mkcols.Load(); got != 4 {
		t.Errorf("a new leaf directory sent %d MKCOLs in all, want 4", got)
	}
}
