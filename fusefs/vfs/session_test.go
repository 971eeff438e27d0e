package vfs

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// stored is a key's content as the store callbacks see it.
type stored struct {
	data  []byte
	fid   int64
	loads int
}

func (st *stored) load(_ context.Context, w io.Writer) error {
	st.loads++
	_, err := w.Write(st.data)
	return err
}

func (st *stored) store(_ context.Context, r io.ReaderAt, size int64) (int64, error) {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !(err == io.EOF && size == 0) {
		return 0, err
	}
	st.data = b
	st.fid++
	return st.fid, nil
}

func newSession(t *testing.T, st *stored, trunc bool) *Session {
	t.Helper()
	dir := t.TempDir()
	s := NewSession(dir, Base{FID: st.fid, Length: int64(len(st.data))}, trunc, st.load)
	t.Cleanup(func() { s.Close() })
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("staging dir holds %d names, want the file unlinked", len(ents))
	}
	return s
}

func upload(t *testing.T, s *Session, st *stored) bool {
	t.Helper()
	_, ok, err := s.Upload(t.Context(), st.store)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSessionEdits(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		start string
		trunc bool
		edit  func(s *Session) error
		want  string
		loads int
	}{
		{"overwrite middle", "hello world", false, func(s *Session) error { _, err := s.WriteAt(ctx, []byte("WORLD"), 6); return err }, "hello WORLD", 1},
		{"append", "abc", false, func(s *Session) error { _, err := s.Append(ctx, []byte("def")); return err }, "abcdef", 1},
		{"hole", "ab", false, func(s *Session) error { _, err := s.WriteAt(ctx, []byte("z"), 4); return err }, "ab\x00\x00z", 1},
		{"trunc open", "old content", true, func(s *Session) error { _, err := s.WriteAt(ctx, []byte("new"), 0); return err }, "new", 0},
		{"truncate to zero", "old", false, func(s *Session) error { return s.Truncate(ctx, 0) }, "", 0},
		{"truncate shrink", "abcdef", false, func(s *Session) error { return s.Truncate(ctx, 2) }, "ab", 1},
		{"truncate grow", "ab", false, func(s *Session) error { return s.Truncate(ctx, 4) }, "ab\x00\x00", 1},
		{"trunc then grow", "xyz", true, func(s *Session) error { return s.Truncate(ctx, 3) }, "\x00\x00\x00", 0},
		{"empty base write", "", false, func(s *Session) error { _, err := s.WriteAt(ctx, []byte("x"), 0); return err }, "x", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &stored{data: []byte(tc.start), fid: 10}
			s := newSession(t, st, tc.trunc)
			if err := tc.edit(s); err != nil {
				t.Fatal(err)
			}
			if got := s.Size(); got != int64(len(tc.want)) {
				t.Errorf("Size() = %d, want %d", got, len(tc.want))
			}
			buf := make([]byte, 100)
			n, _ := s.ReadAt(buf, 0)
			if string(buf[:n]) != tc.want {
				t.Errorf("ReadAt = %q, want %q", buf[:n], tc.want)
			}
			if !upload(t, s, st) {
				t.Fatal("Upload stored nothing for a dirty session")
			}
			if string(st.data) != tc.want || st.loads != tc.loads {
				t.Errorf("stored %q after %d loads, want %q after %d", st.data, st.loads, tc.want, tc.loads)
			}
			if b := s.Base(); b.FID != 11 || b.Length != int64(len(tc.want)) {
				t.Errorf("Base() = %+v after upload", b)
			}
		})
	}
}

func TestSessionCleanNoUpload(t *testing.T) {
	st := &stored{data: []byte("keep"), fid: 5}
	s := newSession(t, st, false)
	if s.Loaded() || s.Dirty() {
		t.Fatalf("fresh session loaded=%v dirty=%v, want neither", s.Loaded(), s.Dirty())
	}
	if upload(t, s, st) || st.loads != 0 {
		t.Errorf("clean session uploaded (loads %d)", st.loads)
	}
}

func TestSessionNewFileStoresEmpty(t *testing.T) {
	st := &stored{}
	s := newSession(t, st, false)
	if !upload(t, s, st) || st.fid != 1 || len(st.data) != 0 {
		t.Errorf("new file: stored fid %d %q, want an empty upload", st.fid, st.data)
	}
}

func TestSessionSecondWriteNoReload(t *testing.T) {
	ctx := t.Context()
	st := &stored{data: []byte("12345"), fid: 1}
	s := newSession(t, st, false)
	s.WriteAt(ctx, []byte("a"), 0)
	upload(t, s, st)
	s.WriteAt(ctx, []byte("b"), 1)
	upload(t, s, st)
	if string(st.data) != "ab345" || st.loads != 1 {
		t.Errorf("stored %q after %d loads, want ab345 after 1", st.data, st.loads)
	}
	if upload(t, s, st) {
		t.Error("upload after upload stored again")
	}
}

func TestSessionUploadErrorStaysDirty(t *testing.T) {
	st := &stored{fid: 0}
	s := newSession(t, st, true)
	s.WriteAt(t.Context(), []byte("x"), 0)
	boom := errors.New("no_devices")
	if _, _, err := s.Upload(t.Context(), func(context.Context, io.ReaderAt, int64) (int64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Upload = %v", err)
	}
	if !s.Dirty() || !upload(t, s, st) || string(st.data) != "x" {
		t.Errorf("retry after failed upload: dirty=%v stored %q", s.Dirty(), st.data)
	}
}

func TestSessionLoadShort(t *testing.T) {
	s := NewSession(t.TempDir(), Base{FID: 3, Length: 10}, false, func(_ context.Context, w io.Writer) error {
		_, err := w.Write([]byte("short"))
		return err
	})
	defer s.Close()
	if _, err := s.WriteAt(t.Context(), []byte("x"), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("WriteAt with short load = %v, want ErrUnexpectedEOF", err)
	}
	if s.Dirty() || s.Loaded() {
		t.Error("failed load left the session dirty or loaded")
	}
}

func TestSessionMTime(t *testing.T) {
	st := &stored{}
	s := newSession(t, st, true)
	set := time.Unix(1_000_000_000, 0)
	s.WriteAt(t.Context(), []byte("x"), 0)
	s.SetMTime(set)
	u, _, err := s.Upload(t.Context(), st.store)
	if err != nil || !u.MTime.Equal(set) {
		t.Errorf("Upload mtime = %v, %v; want the explicit %v", u.MTime, err, set)
	}
	s.WriteAt(t.Context(), []byte("y"), 1)
	if s.MTime().Equal(set) {
		t.Error("a write after utimes kept the explicit mtime")
	}
}
