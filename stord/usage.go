package stord

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mogfs/nodeproto"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// devDirs lists the devN directories under docRoot (following symlinks),
// sorted by device number.
func devDirs(docRoot string) ([]string, error) {
	ents, err := os.ReadDir(docRoot)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if _, ok := nodeproto.ParseDevDir(e.Name()); !ok {
			continue
		}
		if fi, err := os.Stat(filepath.Join(docRoot, e.Name())); err == nil && fi.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := nodeproto.ParseDevDir(a)
		y, _ := nodeproto.ParseDevDir(b)
		return x - y
	})
	return out, nil
}

// mount is one line of /proc/self/mountinfo that matters here.
type mount struct {
	point, source string
}

// parseMountinfo reads the mount point (field 5) and source (the field
// after the fstype following "-") of each mountinfo line.
func parseMountinfo(r io.Reader) []mount {
	var out []mount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		m := mount{point: unescapeMount(f[4])}
		if i := slices.Index(f, "-"); i >= 0 && i+2 < len(f) {
			m.source = unescapeMount(f[i+2])
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes ("\040" for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readMounts reads this process's mount table; nil when it cannot.
func readMounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseMountinfo(f)
}

// mountFor returns the mount with the longest mount point containing path.
func mountFor(mounts []mount, path string) (mount, bool) {
	var best mount
	found := false
	for _, m := range mounts {
		if m.point == path || m.point == "/" || strings.HasPrefix(path, m.point+"/") {
			if !found || len(m.point) > len(best.point) {
				best, found = m, true
			}
		}
	}
	return best, found
}

var devMountRE = regexp.MustCompile(`/dev\d+$`)

// deviceUsage measures one device directory.
func deviceUsage(docRoot, dev string, mounts []mount, now time.Time) (nodeproto.Usage, error) {
	dir := filepath.Join(docRoot, dev)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nodeproto.Usage{}, fmt.Errorf("stord: statfs %s: %w", dir, err)
	}
	bs := uint64(st.Frsize)
	if bs == 0 {
		bs = uint64(st.Bsize)
	}
	u := nodeproto.Usage{
		Available: int64(st.Bavail * bs / 1024),
		Used:      int64((st.Blocks - st.Bfree) * bs / 1024),
		Device:    "-",
		Disk:      dir,
		Time:      now.Unix(),
		ReadOnly:  st.Flags&unix.ST_RDONLY != 0,
	}
	u.Total = u.Used + u.Available // reserved blocks excluded on purpose
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	if m, ok := mountFor(mounts, real); ok {
		if m.source != "" {
			u.Device = m.source
		}
		// DiskUsage.pm reports the mount point only when it is the devN
		// directory itself; otherwise the docroot path.
		if devMountRE.MatchString(m.point) {
			u.Disk = m.point
		}
	}
	return u, nil
}

// writeUsage rewrites docRoot/dev/usage atomically (temp file + rename) so
// that a concurrent GET sees the old or the new file, never a partial one.
func writeUsage(docRoot, dev string, u nodeproto.Usage) error {
	root, err := os.OpenRoot(filepath.Join(docRoot, dev))
	if err != nil {
		return err
	}
	defer root.Close()
	tmp := fmt.Sprintf(".usage.%d.new", os.Getpid()) // not *.tmp: that suffix is an upload's
	if err := root.WriteFile(tmp, []byte(u.Format()), 0o644); err != nil {
		root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, "usage"); err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}

// updateUsage writes the usage file of every device once.
func updateUsage(docRoot string, log *slog.Logger) {
	devs, err := devDirs(docRoot)
	if err != nil {
		log.Warn("list devices", "docroot", docRoot, "err", err)
		return
	}
	mounts := readMounts()
	now := time.Now()
	for _, dev := range devs {
		u, err := deviceUsage(docRoot, dev, mounts, now)
		if err == nil {
			err = writeUsage(docRoot, dev, u)
		}
		if err != nil {
			log.Warn("write usage", "device", dev, "err", err)
		}
	}
}

// serveUsage answers GET and HEAD of /devN/usage with the device's usage
// measured now, in the usage file's format, instead of the file the usage
// writer left. That file is up to UsageInterval old, and on a device that
// is full or mounted read-only it cannot be rewritten at all, so it would
// go on showing room just when the tracker must learn there is none: this
// way the tracker's next round (every 2.5 s by default) sees a device fill
// up or turn read-only. A device directory that is gone is ErrNoDevice
// (404), as before. The file is still written for web servers other than
// ours (server=none) and for people.
func (h *Handler) serveUsage(w http.ResponseWriter, r *http.Request, p nodeproto.Path) error {
	root, err := h.openDevice(p)
	if err != nil {
		return err
	}
	root.Close()
	u, err := deviceUsage(h.docRoot, p.DevDir, readMounts(), time.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(u.Format()))
	return nil
}

// runUsage rewrites the usage files now and then every interval until ctx
// is done, like mogstored's DiskUsage child process.
func runUsage(ctx context.Context, docRoot string, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		updateUsage(docRoot, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
