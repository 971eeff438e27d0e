package vfs

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// A session's content is staged in memory while it is small, and in an
// unlinked file under cache_dir beyond that. Most files a mount writes are
// small (a source tree, a mail spool), and a staging file per close costs
// a create, an unlink and, on ext4, an inode-table search that skips
// recently deleted inodes: about a third of a small file's CPU.
const (
	stageMemMax    = 256 << 10 // content above this goes to a file
	stageMemBudget = 16 << 20  // all sessions' in-memory content together
)

// stageMem counts the bytes held by in-memory stages (by capacity).
var stageMem atomic.Int64

// stage is the random-access store of one session's content. It is not
// safe for concurrent use: the session's mutex guards it.
type stage struct {
	dir string
	mem []byte   // the content, while f is nil
	f   *os.File // the content once it outgrew memory
}

func newStage(dir string) *stage { return &stage{dir: dir} }

// reserve grows the in-memory content's capacity to hold n bytes, within
// the per-session and global limits; false means it must spill.
func (s *stage) reserve(n int64) bool {
	if n > stageMemMax {
		return false
	}
	if n <= int64(cap(s.mem)) {
		return true
	}
	c := max(n, min(2*int64(cap(s.mem)), stageMemMax))
	grow := c - int64(cap(s.mem))
	if stageMem.Add(grow) > stageMemBudget {
		stageMem.Add(-grow)
		return false
	}
	m := make([]byte, len(s.mem), c)
	copy(m, s.mem)
	s.mem = m
	return true
}

// spill moves the content to an unlinked file.
func (s *stage) spill() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("vfs: staging dir: %w", err)
	}
	f, err := os.CreateTemp(s.dir, "stage-*")
	if err != nil {
		return fmt.Errorf("vfs: staging file: %w", err)
	}
	os.Remove(f.Name()) // keep the descriptor only: nothing leaks on a crash
	if _, err := f.WriteAt(s.mem, 0); err != nil {
		f.Close()
		return fmt.Errorf("vfs: staging write: %w", err)
	}
	s.f = f
	s.free()
	return nil
}

// free returns the in-memory content's capacity to the budget.
func (s *stage) free() {
	stageMem.Add(-int64(cap(s.mem)))
	s.mem = nil
}

// WriteAt writes p at off, extending the content with zeros before off.
func (s *stage) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if s.f == nil && !s.reserve(end) {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	if s.f != nil {
		return s.f.WriteAt(p, off)
	}
	if end > int64(len(s.mem)) {
		old := int64(len(s.mem))
		s.mem = s.mem[:end]
		if off > old {
			clear(s.mem[old:off]) // a hole reads as zeros
		}
	}
	return copy(s.mem[off:], p), nil
}

// ReadAt reads as os.File.ReadAt does.
func (s *stage) ReadAt(p []byte, off int64) (int, error) {
	if s.f != nil {
		return s.f.ReadAt(p, off)
	}
	if off >= int64(len(s.mem)) {
		return 0, io.EOF
	}
	n := copy(p, s.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Truncate sets the content's length to n.
func (s *stage) Truncate(n int64) error {
	if s.f == nil && !s.reserve(n) {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if s.f != nil {
		return s.f.Truncate(n)
	}
	old := int64(len(s.mem))
	s.mem = s.mem[:n]
	if n > old {
		clear(s.mem[old:])
	}
	return nil
}

// Size returns the content's length.
func (s *stage) Size() (int64, error) {
	if s.f == nil {
		return int64(len(s.mem)), nil
	}
	st, err := s.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("vfs: staging: %w", err)
	}
	return st.Size(), nil
}

// Close releases the content.
func (s *stage) Close() error {
	s.free()
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
