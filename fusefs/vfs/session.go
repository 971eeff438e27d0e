package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"mogfs/client"
)

// Base is the stored content a write session starts from.
type Base struct {
	FID    int64 // 0 for a new file
	Length int64
}

// LoadFunc copies the stored bytes of a session's Base into w; it is called
// at most once per session, on the first write or truncate that needs them.
type LoadFunc func(ctx context.Context, w io.Writer) error

// StoreFunc uploads size bytes from r as the key's new content and returns
// the new fid (client.StoreReaderAt with the key and class bound).
type StoreFunc func(ctx context.Context, r io.ReaderAt, size int64) (fid int64, err error)

// Session is one open write of a key: a stage (memory, or a file under
// cache_dir once large) holds the file's new content until it is uploaded.
// Its states:
//
//	clean, unloaded — opened without O_TRUNC, nothing written: reads go to
//	                  the store, the staging file is empty
//	dirty, loaded   — written, truncated, created or opened with O_TRUNC: the
//	                  staging file is the whole content (the base was
//	                  downloaded first when the write needed it)
//	clean, loaded   — uploaded: Base is the new fid, the staging file still
//	                  mirrors it, so later writes need no download
//
// flush/fsync/close call Upload; an upload error leaves the session dirty, so
// a later flush retries. A session is shared by every handle of the file that
// is open for writing; the caller counts references.
type Session struct {
	mu       sync.Mutex // guards every field below; held across Upload, so writes wait for it
	f        *stage     // the staged content
	base     Base
	size     int64
	loaded   bool
	dirty    bool
	mtime    time.Time // time of the last write, or the time set by utimes
	mtimeSet bool      // mtime was set explicitly after the last write
	load     LoadFunc

	// A new content written from offset 0 onwards also streams to the
	// store as it is written (client.Stream), so close only ends the PUT
	// instead of sending the whole file again; the staging file still
	// gets every byte, for reads, for writes that jump back and for a
	// stream that fails.
	streamer func(ctx context.Context) *client.Stream // starts the stream; nil once tried
	stream   *client.Stream                           // nil when not streaming
	seqEnd   int64                                    // where the sequential writes from 0 have reached
}

// NewSession opens a session on base in staging directory dir. trunc is
// O_TRUNC (or a new file, base.FID == 0): the content starts empty and the
// session is dirty, so even an empty file gets stored on close.
func NewSession(dir string, base Base, trunc bool, load LoadFunc) *Session {
	s := &Session{f: newStage(dir), base: base, size: base.Length, load: load, mtime: time.Now()}
	if trunc || base.FID == 0 {
		s.size, s.loaded, s.dirty = 0, true, true
	} else if base.Length == 0 {
		s.loaded = true
	}
	return s
}

// ensureLoaded downloads the base into the staging file. Called with mu held.
func (s *Session) ensureLoaded(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	w := io.NewOffsetWriter(s.f, 0)
	if err := s.load(ctx, w); err != nil {
		s.f.Truncate(0)
		return fmt.Errorf("vfs: load fid %d: %w", s.base.FID, err)
	}
	got, err := s.f.Size()
	if err != nil {
		return err
	}
	if got != s.base.Length {
		s.f.Truncate(0)
		return fmt.Errorf("vfs: load fid %d: got %d bytes, want %d: %w", s.base.FID, got, s.base.Length, io.ErrUnexpectedEOF)
	}
	s.loaded = true
	return nil
}

// WriteAt writes p at off, downloading the stored content first if needed.
func (s *Session) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLoaded(ctx); err != nil {
		return 0, err
	}
	n, err := s.f.WriteAt(p, off)
	if n > 0 {
		s.size = max(s.size, off+int64(n))
		s.dirty, s.mtime, s.mtimeSet = true, time.Now(), false
	}
	if err != nil {
		s.dropStream()
		return n, fmt.Errorf("vfs: staging write: %w", err)
	}
	s.feed(ctx, p, off)
	return n, nil
}

// SetStreamer lets the session stream its content as it is written, if
// the first write is at offset 0 of an empty content (see Session).
func (s *Session) SetStreamer(start func(ctx context.Context) *client.Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streamer = start
}

// streamMin is the content size at which a stream starts: below it the
// whole file is one small PUT at close anyway, and a stream would only add
// a goroutine and a pipe hand-off to each write.
const streamMin = 1 << 20

// feed passes a staged write on to the stream. A content written only
// sequentially from offset 0 starts its stream once it reaches streamMin
// (the bytes so far are sent from the staging file first), and each next
// write must continue where the stream ends; any other write ends the
// stream for this session (the upload then reads the staging file).
// Called with mu held.
func (s *Session) feed(ctx context.Context, p []byte, off int64) {
	if s.stream == nil {
		if s.streamer == nil {
			return
		}
		if off+int64(len(p)) != s.size || !s.seqFromZero(off) {
			s.streamer = nil // not a stream from 0: never one
			return
		}
		if s.size < streamMin {
			return
		}
		start := s.streamer
		s.streamer = nil
		if s.stream = start(ctx); s.stream == nil {
			return
		}
		if _, err := io.Copy(s.stream, io.NewSectionReader(s.f, 0, off)); err != nil {
			s.dropStream()
			return
		}
	}
	if off != s.stream.Written() {
		s.dropStream()
		return
	}
	if _, err := s.stream.Write(p); err != nil {
		s.dropStream() // the upload stores the staged copy
	}
}

// seqFromZero tracks whether every write so far continued the last one
// from offset 0 (before a stream starts); off is the current write's.
func (s *Session) seqFromZero(off int64) bool {
	if off != s.seqEnd {
		return false
	}
	s.seqEnd = s.size
	return true
}

// dropStream abandons the stream. Called with mu held.
func (s *Session) dropStream() {
	s.streamer = nil
	if s.stream != nil {
		s.stream.Abort()
		s.stream = nil
	}
}

// TakeStream hands the stream (nil if none) to the upload that is about
// to start; later writes are only staged.
func (s *Session) TakeStream() *client.Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream
	s.stream, s.streamer = nil, nil
	return st
}

// Append writes p at the current end of the content and returns where.
func (s *Session) Append(ctx context.Context, p []byte) (int64, error) {
	s.mu.Lock()
	off := s.size
	s.mu.Unlock()
	// WriteAt re-locks; a concurrent append between the two is a race the
	// caller (one kernel file) does not create: the kernel serialises
	// writes of one O_APPEND file through the inode lock.
	_, err := s.WriteAt(ctx, p, off)
	return off, err
}

// Truncate sets the content's length to n.
func (s *Session) Truncate(ctx context.Context, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		s.loaded = true // nothing of the base survives: no download
	} else if err := s.ensureLoaded(ctx); err != nil {
		return err
	}
	// A truncate to the size the content already has (an ftruncate to 0
	// of a file just created) changes no byte: the stream goes on.
	if s.loaded && n == s.size {
		s.dirty, s.mtime, s.mtimeSet = true, time.Now(), false
		return nil
	}
	s.dropStream()
	if err := s.f.Truncate(n); err != nil {
		return fmt.Errorf("vfs: staging truncate: %w", err)
	}
	s.size, s.dirty, s.mtime, s.mtimeSet = n, true, time.Now(), false
	return nil
}

// Loaded reports whether the staging file holds the content; until then
// reads must go to the store (the session's Base).
func (s *Session) Loaded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// ReadAt reads the staged content; valid only once Loaded.
func (s *Session) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		return 0, errors.New("vfs: session not loaded")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	if rest := s.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.f.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil
	}
	return n, err
}

// Size returns the content's current length.
func (s *Session) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Dirty reports whether the content differs from the stored fid.
func (s *Session) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// Base returns the fid and length the session last loaded or stored.
func (s *Session) Base() Base {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// MTime returns the modification time the file should show.
func (s *Session) MTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mtime
}

// SetMTime records an explicit modification time (utimes on an open file),
// which the upload then persists instead of the time of the last write.
func (s *Session) SetMTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mtime, s.mtimeSet = t, true
}

// Uploaded describes a successful upload.
type Uploaded struct {
	FID   int64
	Size  int64
	MTime time.Time
}

// Upload stores the content if it is dirty and returns the new fid; ok is
// false when there was nothing to store. On error the session stays dirty.
func (s *Session) Upload(ctx context.Context, store StoreFunc) (u Uploaded, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return Uploaded{}, false, nil
	}
	fid, err := store(ctx, s.f, s.size)
	if err != nil {
		return Uploaded{}, false, err
	}
	s.base, s.dirty = Base{FID: fid, Length: s.size}, false
	return Uploaded{FID: fid, Size: s.size, MTime: s.mtime}, true, nil
}

// Close releases the staging file. Unuploaded changes are lost: callers
// Upload first.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropStream()
	return s.f.Close()
}
