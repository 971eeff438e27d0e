package bench

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"mogfs/client"
)

// writebackRows runs the -o writeback workloads on a fresh mount: small
// files and the source tree, each beside a plain local directory, then the
// time until every file of the tree is uploaded and reads back through the
// client, beside the durable mount's tar -x of the same run (durable[rep]).
func (r *runner) writebackRows(ctx context.Context, mnt, local, tarball string, files int, durable []time.Duration, treeErr error) error {
	const sec = "mount"
	small := r.row(sec, fmt.Sprintf("writeback: create %d files of 1 KiB in one dir (close returns once queued)", r.sz.SmallFiles), "files/s", "files/s local dir")
	untar := r.row(sec, "writeback: tar -x of the tree", "files/s", "files/s local dir")
	all := r.row(sec, "writeback: tar -x, then every file uploaded and fetched back by the client", "files/s", "files/s durable mount's tar -x")
	rows := []*Row{small, untar, all}
	if treeErr != nil {
		failAll(treeErr, untar, all)
	}
	m, err := r.mount(mnt, 90, "writeback")
	if err != nil {
		failAll(err, rows...)
		return nil
	}
	defer m.unmount(r)
	cl, err := client.New(client.Config{Trackers: []string{r.c.tracker}, Timeout: 60 * time.Second})
	if err != nil {
		failAll(err, rows...)
		return nil
	}
	defer cl.Close()
	if err := r.smallFiles(ctx, small, mnt, local, "wbsmall", false); err != nil {
		return err
	}
	for rep := 0; treeErr == nil && rep < r.sz.Reps && rep < len(durable); rep++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := fmt.Sprintf("wbtree-%d", rep)
		mdir, ldir := filepath.Join(mnt, name), filepath.Join(local, name)
		for _, d := range []string{mdir, ldir} {
			if err := os.Mkdir(d, 0o755); err != nil {
				failAll(err, untar, all)
				return nil
			}
		}
		start := time.Now()
		err := sh("tar", "-xf", tarball, "-C", mdir)
		d := time.Since(start)
		if err == nil {
			err = uploadedAll(ctx, cl, ldir, tarball, name)
		}
		dAll := time.Since(start)
		var ref time.Duration
		if err == nil {
			ref, err = timed(func() error { return sh("tar", "-xf", tarball, "-C", ldir) })
		}
		os.RemoveAll(ldir)
		if err != nil {
			failAll(err, untar, all)
			break
		}
		r.add(untar, perSec(files, d), perSec(files, ref))
		r.add(all, perSec(files, dAll), perSec(files, durable[rep]))
	}
	return nil
}

// uploadedAll extracts tarball into ldir (the local copy it compares with)
// and waits until every regular file of it reads back through the client,
// under key prefix+"/"+its path, with the same bytes.
func uploadedAll(ctx context.Context, cl *client.Client, ldir, tarball, prefix string) error {
	if err := sh("tar", "-xf", tarball, "-C", ldir); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	err := filepath.WalkDir(ldir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ldir, p)
		key := prefix + "/" + filepath.ToSlash(rel)
		for {
			var got bytes.Buffer
			_, err := cl.Fetch(ctx, benchDomain, key, &got)
			if err == nil && bytes.Equal(got.Bytes(), want) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %s not uploaded after 10 minutes: %v", key, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	os.RemoveAll(ldir)
	if err == nil {
		err = os.Mkdir(ldir, 0o755)
	}
	return err
}
