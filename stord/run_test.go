package stord

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// TestRunShutdownStalledUpload runs the node in-process, stalls an upload
// and cancels: Run must return within its shutdown bound and leave neither
// the file nor its temp file.
func TestRunShutdownStalledUpload(t *testing.T) {
	ip := testenv.LoopbackIP(t, 7500, 7501)
	docroot := t.TempDir()
	os.Mkdir(filepath.Join(docroot, "dev1"), 0o755)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := Config{
		HTTPListen: ip + ":7500", MgmtListen: ip + ":7501", DocRoot: docroot,
		ShutdownTimeout: 300 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	testenv.WaitListening(t, cfg.HTTPListen, 5*time.Second)

	c, err := net.Dial("tcp", cfg.HTTPListen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "PUT /dev1/a/stalled HTTP/1.0\r\nContent-length: 100\r\n\r\nonly part")
	deadline := time.Now().Add(5 * time.Second)
	for !hasTemp(docroot) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !hasTemp(docroot) {
		t.Fatal("upload never created its temp file")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5s after cancel")
	}
	t.Logf("Run returned %v after cancel", time.Since(start))
	if hasTemp(docroot) {
		t.Error("temp file left after shutdown")
	}
	if _, err := os.Stat(filepath.Join(docroot, "dev1/a/stalled")); err == nil {
		t.Error("stalled upload left a file at its final path")
	}
}

// hasTemp reports whether the stalled upload's file in progress exists: a
// temp file, or the final path itself for a new path (written in place).
func hasTemp(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		base := filepath.Base(p)
		found = found || base == "stalled" || strings.HasPrefix(base, "stalled.") && strings.HasSuffix(p, ".tmp")
		return nil
	})
	return found
}

func TestRunBadDocroot(t *testing.T) {
	err := Run(t.Context(), Config{DocRoot: filepath.Join(t.TempDir(), "missing"), HTTPListen: "127.0.0.1:0", MgmtListen: "127.0.0.1:0"})
	if err == nil {
		t.Fatal("Run with a missing docroot = nil, want error")
	}
}
