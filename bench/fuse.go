package bench

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fuse runs the mount section: every workload on a mogfs mount and then in
// a plain local directory on the same disk, rep by rep.
func (r *runner) fuse(ctx context.Context) error {
	const sec = "mount"
	seq := sizeName(r.sz.MountSeq)
	wr := r.row(sec, "sequential write "+seq+" (1 MiB writes, fsync, close)", "MB/s", "MB/s local dir")
	cold := r.row(sec, "sequential read "+seq+", cold (fresh mount, page caches dropped)", "MB/s", "MB/s local dir, dropped")
	warm := r.row(sec, "sequential read "+seq+", cached", "MB/s", "MB/s local dir, cached")
	rnd := r.row(sec, fmt.Sprintf("4 KiB random reads, %d in the cached %s file", r.sz.RandReads, seq), "reads/s", "reads/s local dir")
	rndCold := r.row(sec, fmt.Sprintf("4 KiB random reads, %d in the %s file, cold (fresh mount, page caches dropped)", coldReads(r.sz.RandReads), seq), "reads/s", "reads/s local dir, dropped")
	small := r.row(sec, fmt.Sprintf("create %d files of 1 KiB in one dir (close returns once stored)", r.sz.SmallFiles), "files/s", "files/s local dir, create + write + fdatasync + dir fsync")
	treeName := "Go source tree"
	var tarball string
	var files int
	var treeErr error
	if r.cfg.GoSrc == "" {
		treeErr = errNoTree
	} else {
		var bytes int64
		tarball = filepath.Join(r.cfg.Dir, "gosrc.tar")
		files, bytes, treeErr = makeTar(tarball, r.cfg.GoSrc, r.sz.TreeFiles)
		treeName = fmt.Sprintf("Go src (%d files, %.0f MB)", files, float64(bytes)/1e6)
	}
	untar := r.row(sec, "tar -x "+treeName, "files/s", "files/s local dir")
	ls := r.row(sec, "ls -lR of it", "files/s", "files/s local dir")
	cat := r.row(sec, "cat of every file", "files/s", "files/s local dir")
	rm := r.row(sec, "rm -rf of it", "files/s", "files/s local dir")
	all := []*Row{wr, rndCold, cold, warm, rnd, small, untar, ls, cat, rm}
	if err := canMount(); err != nil {
		r.mountSkip = err
		failAll(err, all...)
		return nil
	}
	if treeErr != nil {
		failAll(treeErr, untar, ls, cat, rm)
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("mount: mogfs -f with cache_size=%s; each read rep starts on a fresh mogfs process after posix_fadvise(DONTNEED) of the node's and the local files; cached = the second read of the same file", sizeName(r.sz.MountSeq+64<<20)))

	local := filepath.Join(r.cfg.Dir, "local-mount")
	mnt := filepath.Join(r.cfg.Dir, "mnt")
	if err := os.MkdirAll(local, 0o755); err != nil {
		failAll(err, all...)
		return nil
	}
	defer os.RemoveAll(local)
	m, err := r.mount(mnt, 1)
	if err != nil {
		r.mountSkip = err
		failAll(err, all...)
		return nil
	}
	defer func() { m.unmount(r) }()

	// Sequential writes, then a fresh mount for the cold reads.
	name := func(rep int) string { return fmt.Sprintf("seq-%d", rep) }
	for rep := range r.sz.Reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var d time.Duration
		err := r.retryEINTR(func() (err error) {
			d, err = writeFile(filepath.Join(mnt, name(rep)), r.pat, r.sz.MountSeq, true)
			return err
		})
		var ref time.Duration
		if err == nil {
			ref, err = writeFile(filepath.Join(local, name(rep)), r.pat, r.sz.MountSeq, true)
		}
		if err != nil {
			failAll(err, wr, rndCold, cold, warm, rnd)
			break
		}
		r.add(wr, mbps(r.sz.MountSeq, d), mbps(r.sz.MountSeq, ref))
	}
	// Every rep reads on a fresh mount after dropping the page cache of
	// the node's and the local files, so the reps start alike: cold, with
	// an empty block cache.
	for rep := 0; wr.Err == "" && rep < r.sz.Reps; rep++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.unmount(r)
		for _, nd := range r.c.nodes {
			dropCache(nd.docroot)
		}
		dropCache(local)
		if m, err = r.mount(mnt, rep+2); err != nil {
			failAll(err, all...)
			return nil
		}
		if err := r.seqReads(filepath.Join(mnt, name(rep)), filepath.Join(local, name(rep)), rndCold, cold, warm, rnd); err != nil {
			failAll(err, rndCold, cold, warm, rnd)
			break
		}
	}

	// Many small files in one directory.
	if err := r.smallFiles(ctx, small, mnt, local, "small", true); err != nil {
		return err
	}

	if r.eintr > 0 {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("mount: %d close/fsync calls of the Go writer returned EINTR (mogfs cancels the upload on a FUSE interrupt, which the Go runtime's SIGURG preemption triggers); those files were written again and the time includes it", r.eintr))
	}

	// The source tree: extract, list, read back, remove.
	var durableUntar []time.Duration
	for rep := 0; treeErr == nil && rep < r.sz.Reps; rep++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		mdir, ldir := filepath.Join(mnt, fmt.Sprintf("tree-%d", rep)), filepath.Join(local, fmt.Sprintf("tree-%d", rep))
		steps := []struct {
			row *Row
			run func(dir string) error
		}{
			{untar, func(dir string) error {
				if err := os.Mkdir(dir, 0o755); err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				return sh("tar", "-xf", tarball, "-C", dir)
			}},
			{ls, func(dir string) error { return sh("ls", "-lR", dir) }},
			{cat, func(dir string) error { return sh("find", dir, "-type", "f", "-exec", "cat", "{}", "+") }},
			{rm, func(dir string) error { return sh("rm", "-rf", dir) }},
		}
		for _, s := range steps {
			d, err := timed(func() error { return s.run(mdir) })
			var ref time.Duration
			if err == nil {
				ref, err = timed(func() error { return s.run(ldir) })
			}
			if err != nil {
				treeErr = err
				failAll(err, untar, ls, cat, rm)
				break
			}
			r.add(s.row, perSec(files, d), perSec(files, ref))
			if s.row == untar {
				durableUntar = append(durableUntar, d)
			}
		}
		os.RemoveAll(mdir)
		os.RemoveAll(ldir)
	}
	m.unmount(r)
	m = nil
	return r.writebackRows(ctx, mnt, local, tarball, files, durableUntar, treeErr)
}

// seqReads does a few random 4 KiB reads of one mounted file cold, reads
// it whole cold and then cached, then does random 4 KiB reads in it, each
// beside the same on the local copy; it removes both files afterwards.
// The cold random reads touch about 1% of the file, so the sequential read
// after them is still cold.
func (r *runner) seqReads(mfile, lfile string, rndCold, cold, warm, rnd *Row) error {
	defer os.Remove(mfile)
	defer os.Remove(lfile)
	size := r.sz.MountSeq
	nc := coldReads(r.sz.RandReads)
	d, err := randomReads(mfile, size, nc)
	var ref time.Duration
	if err == nil {
		ref, err = randomReads(lfile, size, nc)
	}
	if err != nil {
		return err
	}
	r.add(rndCold, perSec(nc, d), perSec(nc, ref))
	for _, row := range []*Row{cold, warm} {
		d, err := timed(func() error { return readExactly(mfile, size) })
		var ref time.Duration
		if err == nil {
			ref, err = timed(func() error { return readExactly(lfile, size) })
		}
		if err != nil {
			return err
		}
		r.add(row, mbps(size, d), mbps(size, ref))
	}
	d, err = randomReads(mfile, size, r.sz.RandReads)
	if err == nil {
		ref, err = randomReads(lfile, size, r.sz.RandReads)
	}
	if err != nil {
		return err
	}
	r.add(rnd, perSec(r.sz.RandReads, d), perSec(r.sz.RandReads, ref))
	return nil
}

// retryEINTR runs f again (up to 3 times in all) when it fails with EINTR
// and counts the retries for the report. mogfs cancels the upload of a
// close or fsync when the kernel sends a FUSE interrupt and answers EINTR;
// the kernel sends one whenever the calling thread gets a signal, and the
// Go runtime's asynchronous preemption (SIGURG) does that to this process
// (with GODEBUG=asyncpreemptoff=1 the EINTRs disappear). cp and tar get no
// signals and never see it. We retry, count, and say so in the notes.
func (r *runner) retryEINTR(f func() error) error {
	var err error
	for range 3 {
		if err = f(); !errors.Is(err, syscall.EINTR) {
			return err
		}
		r.eintr++
	}
	return err
}

// randomReads does n 4 KiB preads at random aligned offsets of a file of
// the given size, one at a time, and returns the elapsed time.
func randomReads(path string, size int64, n int) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(1, 2)) // the same offsets on both sides
	blocks := size / smallSize
	buf := make([]byte, smallSize)
	start := time.Now()
	for range n {
		off := rng.Int64N(blocks) * smallSize
		if _, err := f.ReadAt(buf, off); err != nil {
			return 0, fmt.Errorf("bench: pread %s at %d: %w", path, off, err)
		}
	}
	return time.Since(start), nil
}

// smallFiles runs the small-file row rep by rep: createFiles in a new
// directory prefix-<rep> of the mount beside the same in a local one
// (durableRef: with fdatasync and directory fsync, what a durable close
// promises). The mounted copies stay (removing them through the mount would
// cost a third of the section and measure nothing); the cluster's scratch
// space goes at the end.
func (r *runner) smallFiles(ctx context.Context, row *Row, mnt, local, prefix string, durableRef bool) error {
	for rep := range r.sz.Reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := fmt.Sprintf("%s-%d", prefix, rep)
		mdir, ldir := filepath.Join(mnt, name), filepath.Join(local, name)
		d, err := r.createFiles(mdir, false)
		var ref time.Duration
		if err == nil {
			ref, err = r.createFiles(ldir, durableRef)
		}
		os.RemoveAll(ldir)
		if err != nil {
			row.fail(err)
			return nil
		}
		r.add(row, perSec(r.sz.SmallFiles, d), perSec(r.sz.SmallFiles, ref))
	}
	return nil
}

// coldReads is how many random reads the cold row does: a sample that
// leaves the file mostly uncached for the cold sequential read after it.
func coldReads(n int) int { return max(n/10, 20) }

// createFiles creates SmallFiles files of 1 KiB in a new directory dir,
// each open-write-close like cp does, and returns the time. durable adds
// fdatasync of the file and fsync of the directory before the next one:
// what a mogfs close promises (the file stored), done on a local disk.
func (r *runner) createFiles(dir string, durable bool) (time.Duration, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer d.Close()
	start := time.Now()
	for i := range r.sz.SmallFiles {
		off := (i * 1024) % (len(r.pat) - 1024)
		name := filepath.Join(dir, fmt.Sprintf("f%06d", i))
		err := r.retryEINTR(func() error {
			if !durable {
				return os.WriteFile(name, r.pat[off:off+1024], 0o644)
			}
			return writeDurable(name, d, r.pat[off:off+1024])
		})
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
	}
	return time.Since(start), nil
}

// writeDurable creates name with data, fdatasyncs it and fsyncs its
// directory d.
func writeDurable(name string, d *os.File, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return d.Sync()
}

// makeTar writes a tar of the first limit regular files (0 = all) of src,
// in walk order, with their directories and symlinks, and returns the
// number of regular files and their total size.
func makeTar(dst, src string, limit int) (files int, size int64, err error) {
	f, err := os.Create(dst)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	base := filepath.Dir(src)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if limit > 0 && files >= limit {
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if d.Type()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		n, err := io.Copy(tw, in)
		files++
		size += n
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("bench: tar of %s: %w", src, err)
	}
	return files, size, nil
}
