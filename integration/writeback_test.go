package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// TestFUSEWritebackCrash: under -o writeback, close returns while no
// storage node can take the files; this mount shows, lists and reads them
// at once; the mount is then killed (SIGKILL) with every upload pending,
// and the next mount on the same cache_dir uploads them all, byte for byte.
func TestFUSEWritebackCrash(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	cacheDir := filepath.Join(t.TempDir(), "cache")
	for i := range c.Nodes {
		c.StopNode(t, i)
	}
	// Until the monitor sees the nodes gone, create_open still hands out
	// their devices; wait for no_devices, so creates find no device at all.
	cl := c.Client(t)
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := cl.CreateOpen(t.Context(), c.Opts.Domain, "probe", "", -1)
		if err != nil && strings.Contains(err.Error(), "no_devices") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create_open with every node down = %v, want no_devices", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := mountMogfs(t, c, "writeback", "cache_dir="+cacheDir)
	const files = 40
	want := map[string][]byte{}
	for i := range files {
		name := fmt.Sprintf("d/f%02d", i)
		if i == 0 {
			os.Mkdir(filepath.Join(m.Dir, "d"), 0o755)
		}
		body := bytes.Repeat([]byte(fmt.Sprintf("%02d", i)), 1000+i*500)
		if err := os.WriteFile(filepath.Join(m.Dir, name), body, 0o640); err != nil {
			t.Fatalf("write %s with every node down: %v", name, err)
		}
		want[name] = body
	}
	for name, body := range want {
		st, err := os.Stat(filepath.Join(m.Dir, name))
		if err != nil || st.Size() != int64(len(body)) || st.Mode().Perm() != 0o640 {
			t.Fatalf("stat %s before its upload: %v, %v", name, st, err)
		}
	}
	// Listing answers from the queue too: it does not wait for uploads
	// that cannot happen while every node is down.
	listed := make(chan int, 1)
	go func() {
		ents, _ := os.ReadDir(filepath.Join(m.Dir, "d"))
		listed <- len(ents)
	}()
	select {
	case n := <-listed:
		if n != files {
			t.Errorf("ls of the queued directory listed %d entries, want %d", n, files)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ls of a directory with queued files waited for their uploads")
	}
	// And reads: the queued copy, without waiting for the upload.
	read := make(chan error, 1)
	go func() {
		got, err := os.ReadFile(filepath.Join(m.Dir, "d/f07"))
		if err == nil && !bytes.Equal(got, want["d/f07"]) {
			err = fmt.Errorf("read %d bytes, not the %d written", len(got), len(want["d/f07"]))
		}
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Errorf("read of a queued file: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("read of a queued file waited for its upload")
	}
	m.cmd.Process.Kill()
	m.cmd.Process.Wait()
	exec.Command("fusermount3", "-u", "-z", m.Dir).Run()
	for i := range c.Nodes {
		c.StartNode(t, i)
	}
	mountMogfs(t, c, "writeback", "cache_dir="+cacheDir)
	deadline := time.Now().Add(60 * time.Second)
	for name, body := range want {
		for {
			var got bytes.Buffer
			_, err := cl.Fetch(t.Context(), c.Opts.Domain, name, &got)
			if err == nil && bytes.Equal(got.Bytes(), body) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not uploaded after the remount: %d bytes, %v", name, got.Len(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	left, _ := filepath.Glob(filepath.Join(cacheDir, "writeback", "*.wb"))
	for time.Now().Before(deadline) && len(left) > 0 {
		time.Sleep(100 * time.Millisecond)
		left, _ = filepath.Glob(filepath.Join(cacheDir, "writeback", "*.wb"))
	}
	if len(left) != 0 {
		t.Errorf("%d queue entries left after every file arrived", len(left))
	}
}
