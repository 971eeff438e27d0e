package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
)

// TestFUSEWarmReadsFromPageCache: a file read again while it is the same
// fid is served by the kernel's page cache (no read request reaches the
// mount), and once another client replaces it, the next open reads the
// new bytes.
func TestFUSEWarmReadsFromPageCache(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	one := bytes.Repeat([]byte("first "), 500_000)
	if _, err := cl.StoreReaderAt(t.Context(), c.Opts.Domain, "big", "", bytes.NewReader(one), int64(len(one))); err != nil {
		t.Fatal(err)
	}
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	m := mountMogfs(t, c, "metrics_listen="+maddr)
	url := "http://" + maddr + "/metrics"
	path := filepath.Join(m.Dir, "big")
	read := func(want []byte) float64 {
		t.Helper()
		before := opCount(metricstest.Scrape(t, url), "read")
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes (%v), want %d bytes of %q...", len(got), err, len(want), want[:6])
		}
		return opCount(metricstest.Scrape(t, url), "read") - before
	}
	if n := read(one); n == 0 {
		t.Fatal("the first read made no read requests")
	}
	if n := read(one); n != 0 {
		t.Errorf("a warm read of an unchanged file made %.0f read requests, want 0 (page cache)", n)
	}
	two := bytes.Repeat([]byte("second"), 500_000)
	if _, err := cl.StoreReaderAt(t.Context(), c.Opts.Domain, "big", "", bytes.NewReader(two), int64(len(two))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // attr_timeout
	if n := read(two); n == 0 {
		t.Error("the read after another client replaced the file made no read requests")
	}
}
