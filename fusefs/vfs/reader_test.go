package vfs

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"mogfs/cache"
	"mogfs/metrics"
)

// readerEnv stores a file of size bytes (blocks of 64 KiB) and returns an
// FS that counts downloaded bytes, the file's content and a new reader.
func readerEnv(t *testing.T, size int) (*env, []byte, func() *Reader, func() float64) {
	t.Helper()
	e := newEnv(t)
	const bs = 64 << 10
	e.fs.opt.BlockSize, e.fs.opt.CacheSize = bs, 64*bs
	var err error
	e.fs.cache, err = cache.New(cache.Config{MaxBytes: 64 * bs, BlockSize: bs})
	must(t, err)
	t.Cleanup(e.fs.cache.Close)
	e.fs.met = metrics.NewMount(prometheus.NewRegistry(), nil)
	body := make([]byte, size)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	ctx := t.Context()
	if _, err := e.fs.Store(e.domain, "f")(ctx, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	st, err := e.fs.Lookup(ctx, e.domain, "", "f")
	must(t, err)
	open := func() *Reader {
		r := e.fs.NewReader(e.domain, "f", st.FID, st.Length)
		t.Cleanup(r.Close)
		return r
	}
	downloaded := func() float64 {
		var m dto.Metric
		must(t, e.fs.met.DownloadBytes.Write(&m))
		return m.GetCounter().GetValue()
	}
	return e, body, open, downloaded
}

// TestRandomReadsFetchTheirBytes: 4 KiB reads at random offsets each cost
// one ranged request of 4 KiB, not a whole block.
func TestRandomReadsFetchTheirBytes(t *testing.T) {
	const size = 4 << 20
	_, body, open, downloaded := readerEnv(t, size)
	r := open()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096)
	const reads = 200
	for range reads {
		off := rng.Int64N(size/4096-1)*4096 + 4096 // never 0: that starts a stream
		n, err := r.ReadAt(t.Context(), buf, off)
		if err != nil || n != len(buf) || !bytes.Equal(buf, body[off:off+4096]) {
			t.Fatalf("read at %d: %d bytes, %v, content equal %v", off, n, err, bytes.Equal(buf[:n], body[off:off+int64(n)]))
		}
	}
	// A read landing near the previous one is still read as itself: only
	// two in a row make a stream.
	if got := downloaded(); got > reads*4096*3/2 {
		t.Errorf("%d random 4 KiB reads downloaded %.0f bytes, want about %d", reads, got, reads*4096)
	}
	// The end of the file: a short read returns EOF with the tail.
	n, err := r.ReadAt(t.Context(), buf, size-100)
	if n != 100 || err != io.EOF || !bytes.Equal(buf[:n], body[size-100:]) {
		t.Errorf("read of the tail = %d, %v", n, err)
	}
}

// TestSequentialReadWithReadahead: reading from 0 to the end in kernel-
// sized requests returns the file and downloads each byte once, with the
// window grown past its start.
func TestSequentialReadWithReadahead(t *testing.T) {
	const size = 6<<20 + 12345
	e, body, open, downloaded := readerEnv(t, size)
	r := open()
	var got bytes.Buffer
	buf := make([]byte, 128<<10)
	for off := int64(0); ; {
		n, err := r.ReadAt(t.Context(), buf, off)
		got.Write(buf[:n])
		off += int64(n)
		if err == io.EOF {
			break
		}
		must(t, err)
	}
	if !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("read %d bytes, want the %d stored", got.Len(), size)
	}
	if d := downloaded(); d != size {
		t.Errorf("downloaded %.0f bytes for a %d-byte file read once", d, size)
	}
	r.mu.Lock()
	w := r.window
	r.mu.Unlock()
	if w != e.fs.maxAhead() || w <= minAhead {
		t.Errorf("window after a long stream = %d blocks, want the maximum %d", w, e.fs.maxAhead())
	}
	r.Close()
	e.fs.cache.Close()
	if s := e.fs.cache.Stats(); s.ArenaSlots != 0 {
		t.Errorf("arena slots in use after the reader and cache closed: %d (a leaked reference)", s.ArenaSlots)
	}
}
