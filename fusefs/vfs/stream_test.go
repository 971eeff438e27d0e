package vfs

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"mogfs/client"
	"mogfs/internal/stordtest"
	"mogfs/metrics"
)

// streamEnv is env with a second storage node and metrics, for uploads.
type streamEnv struct {
	*env
	nodes []*stordtest.Node
}

func newStreamEnv(t *testing.T) *streamEnv {
	t.Helper()
	e := &streamEnv{env: newEnv(t)}
	n2 := stordtest.Start(t, 2)
	e.nodes = []*stordtest.Node{e.node, n2}
	_, err := e.c.CreateHost(t.Context(), "n2", client.HostOpts{IP: n2.IP, Status: "alive"})
	must(t, err)
	must(t, e.c.CreateDevice(t.Context(), "n2", 2, "alive"))
	e.fs.met = metrics.NewMount(prometheus.NewRegistry(), nil)
	e.fs.opt.Class = ""
	if !e.fs.closeAttrs(t.Context()) {
		t.Fatal("the tracker does not take attributes on create_close")
	}
	// Wait for the monitor to see both devices writable.
	deadline := time.Now().Add(10 * time.Second)
	for {
		open, err := e.c.CreateOpen(t.Context(), e.domain, "probe", "", -1)
		if err == nil && len(open.Dests) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two destinations never offered: %+v, %v", open, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e
}

func (e *streamEnv) streamed(t *testing.T) float64 {
	var m dto.Metric
	must(t, e.fs.met.StreamedBytes.Write(&m))
	return m.GetCounter().GetValue()
}

// newFile opens a session for a new key as the mount's create does: an
// early create_open, an empty content, and the streamer.
func (e *streamEnv) newFile(t *testing.T, key string) (*Session, *PreOpen) {
	t.Helper()
	pre := e.fs.PreOpen(e.domain, key)
	if _, err := pre.FID(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := NewSession(t.TempDir(), Base{}, true, nil)
	t.Cleanup(func() { s.Close() })
	s.SetStreamer(e.fs.Streamer(pre))
	e.settlePool(t)
	return s, pre
}

// settlePool waits until the create_opens the pool makes ahead have landed,
// so request counts see only the operation under test.
func (e *streamEnv) settlePool(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.fs.pool.mu.Lock()
		busy := e.fs.pool.busy[e.domain]
		e.fs.pool.mu.Unlock()
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("create_opens made ahead still in flight after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upload stores s as the mount's flush does.
func (e *streamEnv) upload(t *testing.T, s *Session, pre *PreOpen, key string) error {
	t.Helper()
	// A new file's attributes ride on the create_close, as the mount's.
	a := Attr{Mode: syscall.S_IFREG | 0o644, MTime: time.Now(), CTime: time.Now()}
	up := Upload{Pre: pre, MTime: a.MTime, Stream: s.TakeStream(), Attr: &a}
	_, _, err := s.Upload(t.Context(), e.fs.StoreSession(e.domain, key, up))
	return err
}

func (e *streamEnv) assertStored(t *testing.T, key string, want []byte) {
	t.Helper()
	var got bytes.Buffer
	if _, err := e.c.Fetch(t.Context(), e.domain, key, &got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("fetch %s: %d bytes (%v), want the %d written", key, got.Len(), err, len(want))
	}
}

func content(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(uint64(n), 9))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeSeq writes b in 128 KiB writes from offset 0, as the kernel does.
func writeSeq(t *testing.T, s *Session, b []byte) {
	t.Helper()
	for off := 0; off < len(b); off += 128 << 10 {
		end := min(off+128<<10, len(b))
		if _, err := s.WriteAt(t.Context(), b[off:end], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamedWrite: a new file written from 0 onwards goes to the node
// while it is written (from its first MiB on); the upload at close costs
// the create_close alone (the create_open was made at create) and sends
// nothing again. A small file is one PUT at close.
func TestStreamedWrite(t *testing.T) {
	e := newStreamEnv(t)
	body := content(3<<20 + 777)
	s, pre := e.newFile(t, "seq")
	writeSeq(t, s, body)
	n := e.requests(func() { must(t, e.upload(t, s, pre, "seq")) })
	if total(n) != 1 || n["create_close"] != 1 {
		t.Errorf("upload of a streamed file sent %v, want one create_close", n)
	}
	if got := e.streamed(t); got != float64(len(body)) {
		t.Errorf("streamed %.0f bytes, want %d", got, len(body))
	}
	e.assertStored(t, "seq", body)

	small := content(streamMin - 1)
	s, pre = e.newFile(t, "small")
	writeSeq(t, s, small)
	before := e.streamed(t)
	n = e.requests(func() { must(t, e.upload(t, s, pre, "small")) })
	if total(n) != 1 || n["create_close"] != 1 || e.streamed(t) != before {
		t.Errorf("upload of a small file sent %v and streamed %.0f bytes, want one create_close and no stream", n, e.streamed(t)-before)
	}
	e.assertStored(t, "small", small)
}

// TestStreamFallbacks: writes that jump back, a truncate, or an fsync in
// the middle end the stream, and the file is stored whole from the staging
// copy.
func TestStreamFallbacks(t *testing.T) {
	e := newStreamEnv(t)
	cases := []struct {
		name  string
		write func(t *testing.T, s *Session) []byte
	}{
		{"seek back", func(t *testing.T, s *Session) []byte {
			b := content(2 << 20)
			writeSeq(t, s, b)
			patch := []byte("patched")
			_, err := s.WriteAt(t.Context(), patch, 4096)
			must(t, err)
			copy(b[4096:], patch)
			return b
		}},
		{"truncate", func(t *testing.T, s *Session) []byte {
			b := content(2 << 20)
			writeSeq(t, s, b)
			must(t, s.Truncate(t.Context(), 1000))
			return b[:1000]
		}},
		{"hole", func(t *testing.T, s *Session) []byte {
			b := content(3 << 20)
			writeSeq(t, s, b[:3<<19])
			_, err := s.WriteAt(t.Context(), b[2<<20:], 2<<20)
			must(t, err)
			clear(b[3<<19 : 2<<20])
			return b
		}},
		{"ftruncate to 0 first", func(t *testing.T, s *Session) []byte {
			// dd truncates a new file to its seek offset before writing.
			must(t, s.Truncate(t.Context(), 0))
			b := content(2 << 20)
			writeSeq(t, s, b)
			return b
		}},
		{"append", func(t *testing.T, s *Session) []byte {
			b := content(2 << 20)
			for off := 0; off < len(b); off += 256 << 10 {
				_, err := s.Append(t.Context(), b[off:off+256<<10])
				must(t, err)
			}
			return b
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := "fb-" + url.PathEscape(c.name)
			s, pre := e.newFile(t, key)
			before := e.streamed(t)
			want := c.write(t, s)
			must(t, e.upload(t, s, pre, key))
			e.assertStored(t, key, want)
			streamed := e.streamed(t) - before
			streams := c.name == "append" || c.name == "ftruncate to 0 first"
			if streams && streamed != float64(len(want)) {
				t.Errorf("streamed %.0f bytes, want all %d", streamed, len(want))
			}
			if !streams && streamed != 0 {
				t.Errorf("streamed %.0f bytes, want the staged copy stored", streamed)
			}
		})
	}
	// An fsync in the middle stores what is written; the rest goes whole.
	s, pre := e.newFile(t, "mid")
	b := content(2 << 20)
	writeSeq(t, s, b[:1<<20])
	must(t, e.upload(t, s, pre, "mid"))
	e.assertStored(t, "mid", b[:1<<20])
	writeSeq(t, s, b)
	must(t, e.upload(t, s, nil, "mid"))
	e.assertStored(t, "mid", b)
}

// TestStreamAfterEmptyUpload: a shell redirect or dd closes a duplicate
// descriptor of the new file before writing, which stores it empty; the
// content written after that streams on a create_open taken only then.
func TestStreamAfterEmptyUpload(t *testing.T) {
	e := newStreamEnv(t)
	s, pre := e.newFile(t, "redirected")
	must(t, e.upload(t, s, pre, "redirected"))
	e.assertStored(t, "redirected", nil)
	s.SetStreamer(e.fs.LateStreamer(e.domain, "redirected"))
	body := content(3 << 20)
	before := e.streamed(t)
	writeSeq(t, s, body)
	must(t, e.upload(t, s, nil, "redirected"))
	if got := e.streamed(t) - before; got != float64(len(body)) {
		t.Errorf("streamed %.0f bytes after the empty upload, want %d", got, len(body))
	}
	e.assertStored(t, "redirected", body)

	// A file that stays small takes no create_open for a stream.
	s, pre = e.newFile(t, "small-redirected")
	must(t, e.upload(t, s, pre, "small-redirected"))
	s.SetStreamer(e.fs.LateStreamer(e.domain, "small-redirected"))
	n := e.requests(func() {
		_, err := s.WriteAt(t.Context(), []byte("tiny"), 0)
		must(t, err)
	})
	if total(n) != 0 {
		t.Errorf("a small write after the empty upload sent %v", n)
	}
}

// TestStreamNodeKilled: the node taking a streamed PUT dies half way; the
// writes go on (staged), and the close stores the file on the other node,
// never a partial one.
func TestStreamNodeKilled(t *testing.T) {
	e := newStreamEnv(t)
	body := content(4 << 20)
	s, pre := e.newFile(t, "killed")
	writeSeq(t, s, body[:1<<20])
	s.mu.Lock()
	st := s.stream
	s.mu.Unlock()
	if st == nil {
		t.Fatal("no stream after the first writes")
	}
	u, err := url.Parse(st.Open().Dests[0].Path)
	must(t, err)
	killed := false
	for _, n := range e.nodes {
		if n.IP == u.Hostname() {
			n.Stop()
			killed = true
		}
	}
	if !killed {
		t.Fatalf("no node at %s", u.Host)
	}
	for off := 1 << 20; off < len(body); off += 128 << 10 {
		if _, err := s.WriteAt(t.Context(), body[off:off+128<<10], int64(off)); err != nil {
			t.Fatalf("write after the node died: %v", err)
		}
	}
	must(t, e.upload(t, s, pre, "killed"))
	e.assertStored(t, "killed", body)
	if got := e.streamed(t); got != 0 {
		t.Errorf("streamed %.0f bytes of a stream whose node died", got)
	}
}
