package stord

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mogfs/nodeproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The "watch" stream reports each device's I/O utilisation, the %util
// column of `iostat -dx 1` in mogstored. We compute it the way iostat does,
// without running it: the growth of io_ticks (milliseconds the disk had
// I/O in flight, field 13 of /proc/diskstats) over the wall time between
// two samples. A devN directory is mapped to its disk through the st_dev of
// the directory -> /sys/dev/block/MAJ:MIN -> whole disk when that is a
// partition. Directories on filesystems without a block device (overlay,
// tmpfs, NFS) report 0.00: mogstored would print "-", but the tracker only
// parses numbers, and 0 is the honest "no measurable load" value.

// diskTicks parses /proc/diskstats into disk name -> io_ticks (ms).
func diskTicks(r io.Reader) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 {
			continue
		}
		if v, err := strconv.ParseUint(f[12], 10, 64); err == nil {
			out[f[2]] = v
		}
	}
	return out
}

// blockDisk returns the kernel name of the whole disk holding dir ("sda"),
// or "" when the filesystem has no block device.
func blockDisk(dir string) string {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return ""
	}
	maj, min := unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev))
	if maj == 0 {
		return "" // anonymous device: tmpfs, overlay, btrfs subvolume...
	}
	sys, err := filepath.EvalSymlinks(fmt.Sprintf("/sys/dev/block/%d:%d", maj, min))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
		sys = filepath.Dir(sys)
	}
	return filepath.Base(sys)
}

// utilSampler turns successive io_ticks readings into per-device %util.
type utilSampler struct {
	docRoot string
	last    map[string]uint64 // disk -> io_ticks at lastAt
	lastAt  time.Time
}

// sample returns one watch block: "<devid>\t<util>\n" per device sorted by
// devid, then ".\n".
func (s *utilSampler) sample(now time.Time) string {
	var ticks map[string]uint64
	if f, err := os.Open("/proc/diskstats"); err == nil {
		ticks = diskTicks(f)
		f.Close()
	}
	elapsed := now.Sub(s.lastAt).Milliseconds()
	devs, _ := devDirs(s.docRoot)
	var b strings.Builder
	for _, dev := range devs {
		id, _ := nodeproto.ParseDevDir(dev)
		util := 0.0
		if disk := blockDisk(filepath.Join(s.docRoot, dev)); disk != "" && elapsed > 0 {
			cur, ok1 := ticks[disk]
			prev, ok2 := s.last[disk]
			if ok1 && ok2 && cur >= prev {
				util = min(100, float64(cur-prev)*100/float64(elapsed))
			}
		}
		b.WriteString(nodeproto.WatchLine(id, util))
	}
	b.WriteString(nodeproto.WatchEnd)
	s.last, s.lastAt = ticks, now
	return b.String()
}

// watchHub samples utilisation every interval and fans each block out to
// the subscribed side-channel connections.
type watchHub struct {
	mu   sync.Mutex // guards subs
	subs map[chan string]struct{}
}

func newWatchHub() *watchHub { return &watchHub{subs: map[chan string]struct{}{}} }

// subscribe returns a channel receiving blocks and a cancel function. The
// channel holds one block: a subscriber that has not written the previous
// one misses the next, as mogstored drops lines for a busy subscriber.
func (h *watchHub) subscribe() (<-chan string, func()) {
	ch := make(chan string, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *watchHub) publish(block string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- block:
		default:
		}
	}
}

// run samples until ctx is done. The first sample only primes the
// counters.
func (h *watchHub) run(ctx context.Context, docRoot string, interval time.Duration) {
	s := &utilSampler{docRoot: docRoot}
	s.sample(time.Now())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.publish(s.sample(now))
		}
	}
}
