package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progressMin is the smallest known size that gets a progress bar: small
// transfers finish before a bar says anything.
const progressMin = 1 << 20

// IsTerminal reports whether w is a terminal (a *os.File whose descriptor
// answers the termios ioctl).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Progress draws a one-line progress bar, redrawn in place with '\r', at most
// ten times a second. It is safe for concurrent use.
type Progress struct {
	w     io.Writer
	label string
	total int64 // < 0 when unknown
	start time.Time

	mu   sync.Mutex // guards pos, last
	pos  int64
	last time.Time
}

// NewProgress returns a bar on w for a transfer of total bytes (< 0:
// unknown), or nil (on which every method is a no-op) when w is not a
// terminal or the transfer is small.
func NewProgress(w io.Writer, label string, total int64) *Progress {
	if !IsTerminal(w) || (total >= 0 && total < progressMin) {
		return nil
	}
	return newProgress(w, label, total)
}

func newProgress(w io.Writer, label string, total int64) *Progress {
	return &Progress{w: w, label: label, total: total, start: time.Now()}
}

// Set records that the transfer has reached pos bytes. A restart (an upload
// retried on another destination) moves it back.
func (p *Progress) Set(pos int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos = pos
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		fmt.Fprint(p.w, "\r"+FormatProgress(p.label, p.pos, p.total, now.Sub(p.start), 30))
	}
}

// Add advances the transfer by n bytes.
func (p *Progress) Add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	pos := p.pos + n
	p.mu.Unlock()
	p.Set(pos)
}

// Done draws the final state and ends the line.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r"+FormatProgress(p.label, p.pos, p.total, time.Since(p.start), 30)+"\n")
}

// FormatProgress renders one bar line (without '\r'):
//
//	label [=========>          ]  45.0%  12.0 MiB / 26.7 MiB  4.0 MiB/s  ETA 0:04
//
// and for an unknown total: "label  12.0 MiB  4.0 MiB/s".
func FormatProgress(label string, done, total int64, elapsed time.Duration, width int) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if total < 0 {
		return fmt.Sprintf("%s  %s  %s/s", label, HumanBytes(done), HumanBytes(int64(rate)))
	}
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	fill := int(frac * float64(width))
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	eta := "--:--"
	if rate > 0 {
		s := int(float64(total-done) / rate)
		eta = fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%s [%s] %5.1f%%  %s / %s  %s/s  ETA %s", label, bar, frac*100,
		HumanBytes(done), HumanBytes(total), HumanBytes(int64(rate)), eta)
}

// HumanBytes renders n with a binary unit: "512 B", "1.5 KiB", "26.7 MiB".
func HumanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return ""
}

// progressWriter counts bytes written through it into a Progress.
type progressWriter struct {
	w io.Writer
	p *Progress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.Add(int64(n))
	return n, err
}

// progressReaderAt reports the furthest offset read.
type progressReaderAt struct {
	r io.ReaderAt
	p *Progress
}

func (pr progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := pr.r.ReadAt(b, off)
	pr.p.Set(off + int64(n))
	return n, err
}

// progressReader counts bytes read through it.
type progressReader struct {
	r io.Reader
	p *Progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.Add(int64(n))
	return n, err
}
