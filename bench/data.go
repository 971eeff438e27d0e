package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// patternSize is the length of the random pattern written data repeats.
// Larger than any block or chunk size involved, so no layer sees the same
// block twice in a row.
const patternSize = 8<<20 + 4093

// pattern returns incompressible bytes (ChaCha8 with a fixed seed).
func pattern() []byte {
	b := make([]byte, patternSize)
	rng := rand.NewChaCha8([32]byte{'m', 'o', 'g', 'b', 'e', 'n', 'c', 'h'})
	rng.Read(b)
	return b
}

// patternReader is an io.ReaderAt and io.Reader of size bytes repeating the
// pattern, so large files need neither memory nor a source file.
type patternReader struct {
	pat  []byte
	size int64
	off  int64 // for Read
}

func newPatternReader(pat []byte, size int64) *patternReader {
	return &patternReader{pat: pat, size: size}
}

// ReadAt implements io.ReaderAt.
func (p *patternReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && off < p.size {
		i := off % int64(len(p.pat))
		c := copy(b[n:], p.pat[i:min(int64(len(p.pat)), i+p.size-off)])
		n += c
		off += int64(c)
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (p *patternReader) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.off)
	p.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// copyBufSize is the chunk of every sequential read and write (dd bs=1M).
const copyBufSize = 1 << 20

// writeFile writes size pattern bytes to path in 1 MiB writes and, when
// durable, fsyncs the file before closing it. It returns the elapsed time.
func writeFile(path string, pat []byte, size int64, durable bool) (time.Duration, error) {
	start := time.Now()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	buf := make([]byte, copyBufSize)
	src := newPatternReader(pat, size)
	for off := int64(0); off < size; {
		n, _ := src.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return 0, fmt.Errorf("bench: write %s: %w", path, err)
		}
		off += int64(n)
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return 0, fmt.Errorf("bench: fsync %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("bench: close %s: %w", path, err)
	}
	return time.Since(start), nil
}

// durableWrite is what stord does for a PUT: temp file, write, fsync,
// rename, fsync of the directory. It is the storage node's reference.
func durableWrite(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("bench: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("bench: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// durableWriteStream is durableWrite for size pattern bytes in 1 MiB writes.
func durableWriteStream(path string, pat []byte, size int64) error {
	if _, err := writeFile(path+".tmp", pat, size, true); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bench: fsync %s: %w", dir, err)
	}
	return nil
}

// readFile reads path to the end in 1 MiB reads and returns the byte count.
func readFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	n, err := copyDiscard(f)
	if err != nil {
		return n, fmt.Errorf("bench: read %s: %w", path, err)
	}
	return n, nil
}

// bufs recycles the 1 MiB copy buffers, so that reading a 4 KiB file does
// not cost a 1 MiB allocation.
var bufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyDiscard reads r to the end in reads of up to 1 MiB.
func copyDiscard(r io.Reader) (int64, error) {
	b := bufs.Get().(*[]byte)
	defer bufs.Put(b)
	return io.CopyBuffer(io.Discard, onlyReader{r}, *b)
}

// onlyReader hides WriterTo so io.CopyBuffer really uses our buffer size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// dropCache asks the kernel to drop the cached pages of every regular file
// under root (posix_fadvise DONTNEED after fsync), so the next read comes
// from the disk. It touches only our own files, unlike drop_caches.
func dropCache(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil // a file can vanish under a running daemon
		}
		defer f.Close()
		f.Sync()
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
}

// mbps is bytes per second in MB/s (10^6).
func mbps(bytes int64, d time.Duration) float64 {
	return float64(bytes) / 1e6 / d.Seconds()
}

// perSec is a rate of n operations in d.
func perSec(n int, d time.Duration) float64 {
	return float64(n) / d.Seconds()
}

// sizeName spells a byte count as "256 MiB" or "4 KiB".
func sizeName(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
