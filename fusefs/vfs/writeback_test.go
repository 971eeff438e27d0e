package vfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWritebackResume: entries queued while no node can take them stay
// durable across a crash (the queue dropped without draining), a torn
// entry (no trailer: its close never returned) is dropped, and the next
// queue on the same directory uploads the newest content of every key.
func TestWritebackResume(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "wb")
	e.node.Stop()
	wb, err := e.fs.NewWriteback(dir, 2)
	must(t, err)
	want := map[string][]byte{}
	for i := range 10 {
		key := fmt.Sprintf("wb/f%d", i)
		body := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		want[key] = body
		a := Attr{Mode: syscall.S_IFREG | 0o640, MTime: time.Unix(1700000000, 0), CTime: time.Now()}
		_, err := wb.Queue(ctx, e.domain, key, bytes.NewReader(body), int64(len(body)), e.fs.PreOpen(e.domain, key), &a, a.MTime)
		must(t, err)
	}
	// A key queued twice: the newer content wins.
	newer := []byte("second version")
	_, err = wb.Queue(ctx, e.domain, "wb/f3", bytes.NewReader(newer), int64(len(newer)), nil, nil, time.Now())
	must(t, err)
	want["wb/f3"] = newer
	// This mount sees the queued files.
	st, err := e.fs.Lookup(ctx, e.domain, "wb/", "f5")
	if err != nil || st.Length != 6000 || st.Attr.Mode&0o777 != 0o640 {
		t.Errorf("lookup of a queued file = %+v, %v", st, err)
	}
	// 11 entries for 10 keys: f3's first one counts until its upload
	// starts, and not once the second replaces it.
	if n := wb.Pending(); n != 10 && n != 11 {
		t.Errorf("pending = %d, want 10 keys (11 while f3's first entry is in flight)", n)
	}
	wb.Close() // a crash: nothing uploaded
	torn := filepath.Join(dir, "99999999999999999999.wb")
	must(t, os.WriteFile(torn, []byte("half a file"), 0o600))

	e.node.Start()
	wb, err = e.fs.NewWriteback(dir, 2)
	must(t, err)
	defer wb.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, wb.WaitAll(wctx))
	for key, body := range want {
		var got bytes.Buffer
		if _, err := e.c.Fetch(ctx, e.domain, key, &got); err != nil || !bytes.Equal(got.Bytes(), body) {
			t.Errorf("%s after resume: %d bytes (%v), want %d", key, got.Len(), err, len(body))
		}
	}
	if st, err := e.fs.Lookup(ctx, e.domain, "wb/", "f5"); err != nil || st.Attr.Mode&0o777 != 0o640 || !st.Attr.MTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("attributes after upload = %+v, %v", st.Attr, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Errorf("queue directory holds %v after every upload", left)
	}
}

// queueEnv is env with its storage node stopped and a writeback queue:
// nothing queued can be uploaded until the test starts the node.
func queueEnv(t *testing.T) (*env, *Writeback) {
	t.Helper()
	e := newEnv(t)
	e.node.Stop()
	wb, err := e.fs.NewWriteback(filepath.Join(t.TempDir(), "wb"), 1)
	must(t, err)
	t.Cleanup(wb.Close)
	return e, wb
}

// TestWritebackBarrier: asking the tracker about a queued file (OpenRead,
// as an open that cannot read the queued copy does) waits for its upload,
// so the tracker's answer is the new content.
func TestWritebackBarrier(t *testing.T) {
	e, wb := queueEnv(t)
	ctx := t.Context()
	var err error
	body := []byte("queued content")
	_, err = wb.Queue(ctx, e.domain, "b", bytes.NewReader(body), int64(len(body)), nil, nil, time.Now())
	must(t, err)
	opened := make(chan error, 1)
	go func() {
		st, _, err := e.fs.OpenRead(ctx, e.domain, "b", Stat{})
		if err == nil && st.Length != int64(len(body)) {
			err = fmt.Errorf("opened length %d", st.Length)
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("open of a queued file returned before its upload: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	e.node.Start()
	select {
	case err := <-opened:
		must(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("open still waiting a minute after the node came back")
	}
}

// FuzzReadTrailer: a queue entry read back after a crash may be anything;
// readTrailer must refuse what it cannot trust, never panic, and what it
// accepts must describe the content before the trailer.
func FuzzReadTrailer(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	a := Attr{Mode: 0o100644}
	if err := writeEntry(good, bytes.NewReader([]byte("content")), 7, wbMeta{Domain: "d", Key: "k", Size: 7, Attr: &a}); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(good)
	f.Add(seed)
	f.Add([]byte("half a file"))
	f.Add([]byte(wbMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "e.wb")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := readTrailer(p)
		if err != nil {
			return
		}
		if m.Size < 0 || m.Size+16 > int64(len(b)) || m.Key == "" || m.Domain == "" {
			t.Fatalf("accepted %+v from %d bytes", m, len(b))
		}
	})
}

// TestWritebackAmend: a chmod or utimes of a queued file (tar and cp -p do
// them right after each close) returns at once and reaches the tracker with
// the upload.
func TestWritebackAmend(t *testing.T) {
	e, wb := queueEnv(t)
	ctx := t.Context()
	var err error
	a := Attr{Mode: syscall.S_IFREG | 0o600, MTime: time.Now(), CTime: time.Now()}
	body := []byte("amended")
	_, err = wb.Queue(ctx, e.domain, "am", bytes.NewReader(body), int64(len(body)), nil, &a, a.MTime)
	must(t, err)
	mode, mt := uint32(0o644), time.Unix(1600000000, 0)
	done := make(chan error, 1)
	go func() { done <- e.fs.SetAttr(ctx, e.domain, "am", AttrChange{Mode: &mode, MTime: &mt}) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("setattr of a queued file waited for its upload")
	}
	if st, err := e.fs.Lookup(ctx, e.domain, "", "am"); err != nil || st.Attr.Mode != syscall.S_IFREG|0o644 || !st.Attr.MTime.Equal(mt) {
		t.Errorf("lookup of the queued file after setattr = %+v, %v", st.Attr, err)
	}
	e.node.Start()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, wb.WaitAll(wctx))
	if st, err := e.fs.Lookup(ctx, e.domain, "", "am"); err != nil || st.Attr.Mode != syscall.S_IFREG|0o644 || !st.Attr.MTime.Equal(mt) || st.Length != int64(len(body)) {
		t.Errorf("after the upload: %+v length %d, %v", st.Attr, st.Length, err)
	}
}

// TestWritebackListing: listing a directory does not wait for its queued
// uploads: queued files are listed with their queued size, a queued new
// version of a stored file shows the new size, once each.
func TestWritebackListing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	old := []byte("old content, longer")
	_, err := e.fs.Store(e.domain, "ls/stored")(ctx, bytes.NewReader(old), int64(len(old)))
	must(t, err)
	e.node.Stop()
	wb, err := e.fs.NewWriteback(filepath.Join(t.TempDir(), "wb"), 1)
	must(t, err)
	defer wb.Close()
	a := Attr{Mode: syscall.S_IFREG | 0o644, MTime: time.Now(), CTime: time.Now()}
	for key, body := range map[string]string{"ls/new": "queued", "ls/stored": "new", "ls/sub/deep": "not a child"} {
		_, err := wb.Queue(ctx, e.domain, key, bytes.NewReader([]byte(body)), int64(len(body)), nil, &a, a.MTime)
		must(t, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := e.fs.OpenDir(e.domain, "ls/", nil)
	got := map[string]int64{}
	for {
		ent, _, ok, err := d.Next(lctx)
		if err != nil {
			t.Fatalf("listing with uploads queued: %v", err)
		}
		if !ok {
			break
		}
		if _, dup := got[ent.Seg]; dup {
			t.Errorf("%s listed twice", ent.Seg)
		}
		got[ent.Seg] = ent.St.Length
		if ent.St.Kind == KindDir {
			got[ent.Seg] = -1
		}
	}
	want := map[string]int64{"new": 6, "stored": 3}
	for seg, n := range want {
		if got[seg] != n {
			t.Errorf("listing: %s = %d bytes, want %d (all: %v)", seg, got[seg], n, got)
		}
	}
	if _, ok := got["deep"]; ok {
		t.Errorf("a queued key two levels down listed as a child: %v", got)
	}
}
