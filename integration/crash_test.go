package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"mogfs/internal/testenv"
	"mogfs/trackerd/meta/metatest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashUnderLoad stores files from four clients and a mount through
// two trackers (on SQLite and on MariaDB)
// while trackers and storage nodes are killed with SIGKILL and restarted,
// one at a time. Afterwards every upload whose create_close returned OK
// reads back with its bytes and reaches its copy count, and a key whose
// upload failed either does not exist or holds exactly the bytes that were
// sent: nothing half-written is visible under a key.
func TestCrashUnderLoad(t *testing.T) {
	for _, db := range []string{"sqlite", "mariadb"} {
		t.Run(db, func(t *testing.T) {
			// A queue row claimed by a tracker that is then killed comes due
			// again when its lease ends (60 s by default, renewed while a
			// live tracker works on it); the test shortens it so "reaches its
			// copy count" is bounded by seconds.
			o := ClusterOpts{TrackerArgs: []string{"--queue_lease=5"}}
			if db == "mariadb" {
				cfg := metatest.MySQLConfig(t) // a private database; skips without MariaDB (fails under CI)
				o.DSN, o.DBUser, o.DBPass = cfg.DSN, cfg.User, cfg.Pass
			}
			crashUnderLoad(t, o)
		})
	}
}

func crashUnderLoad(t *testing.T, o ClusterOpts) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, o)
	c.StartTracker(t)
	cl := c.Client(t) // knows both trackers
	dom := c.Opts.Domain
	load := 8 * time.Second
	if testing.Short() {
		load = 4 * time.Second
	}

	var mu sync.Mutex
	sent := map[string][32]byte{} // every key attempted, with its content's hash
	acked := map[string]bool{}
	failures := 0
	var failed []string // the first errors, for the log
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// writer stores files under prefix with put until stop, recording what
	// it sent and which uploads were acknowledged.
	writer := func(prefix string, seed uint64, put func(key string, body []byte) error) {
		rng := rand.New(rand.NewPCG(seed, 7))
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("%s/%05d", prefix, n)
			body := randomBody(rng, 256<<10)
			mu.Lock()
			sent[key] = sha256.Sum256(body)
			mu.Unlock()
			err := put(key, body)
			mu.Lock()
			if err == nil {
				acked[key] = true
			} else {
				failures++
				if len(failed) < 5 {
					failed = append(failed, fmt.Sprintf("%s: %v", key, err))
				}
			}
			mu.Unlock()
		}
	}
	for w := range 4 {
		wg.Go(func() {
			writer(fmt.Sprintf("crash/w%d", w), uint64(w), func(key string, body []byte) error {
				_, err := cl.Store(t.Context(), dom, key, c.Opts.Class, bytes.NewReader(body), int64(len(body)))
				return err
			})
		})
	}
	// A mount writes files too; a close that returned 0 is an
	// acknowledged upload like a client's.
	m := mountMogfs(t, c)
	if err := os.MkdirAll(filepath.Join(m.Dir, "crash", "mount"), 0o755); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		writer("crash/mount", 99, func(key string, body []byte) error {
			return os.WriteFile(filepath.Join(m.Dir, filepath.FromSlash(key)), body, 0o644)
		})
	})

	c.faultLoop(t, load, 600*time.Millisecond)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	viaMount := 0
	for key := range acked {
		if strings.HasPrefix(key, "crash/mount/") {
			viaMount++
		}
	}
	t.Logf("%d uploads acknowledged (%d through the mount), %d failed, under %v of faults", len(acked), viaMount, failures, load)
	if viaMount == 0 {
		t.Error("no close on the mount returned 0 during the faults")
	}
	// One fault at a time and two trackers: the client fails over, rides
	// out a restart, and a resent create_close finds its own commit, so no
	// operation fails.
	if failures > 0 {
		t.Errorf("%d uploads failed with one fault at a time, want none: %q", failures, failed)
	}
	if len(acked) < 20 {
		t.Fatalf("only %d uploads acknowledged: the load did not run", len(acked))
	}

	// Every acknowledged file reads back and reaches two copies.
	wait := time.Now().Add(90 * time.Second)
	for key := range acked {
		var got bytes.Buffer
		if _, err := cl.Fetch(t.Context(), dom, key, &got); err != nil || sha256.Sum256(got.Bytes()) != sent[key] {
			t.Errorf("acknowledged %s reads back wrong (%d bytes, %v)", key, got.Len(), err)
			continue
		}
		for {
			fi, err := cl.FileInfo(t.Context(), dom, key)
			if err == nil && fi.DevCount >= 2 {
				break
			}
			if time.Now().After(wait) {
				t.Fatalf("acknowledged %s has %d copies after the faults stopped (%v), want 2", key, fi.DevCount, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A key whose upload failed is absent or whole.
	var listed []string
	for after := ""; ; {
		keys, next, err := cl.ListKeys(t.Context(), dom, "crash/", after, 1000)
		if err != nil || len(keys) == 0 {
			break
		}
		listed = append(listed, keys...)
		after = next
	}
	for _, key := range listed {
		if acked[key] {
			continue
		}
		var got bytes.Buffer
		if _, err := cl.Fetch(t.Context(), dom, key, &got); err != nil {
			t.Errorf("%s (upload reported failed) is listed but does not read: %v", key, err)
		} else if sha256.Sum256(got.Bytes()) != sent[key] {
			t.Errorf("%s (upload reported failed) holds %d bytes that are not the ones sent", key, got.Len())
		}
	}
	if len(listed) < len(acked) {
		t.Errorf("list_keys shows %d keys, fewer than the %d acknowledged", len(listed), len(acked))
	}
}

// randomBody returns up to max random bytes.
func randomBody(rng *rand.Rand, max int) []byte {
	b := make([]byte, rng.IntN(max))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// faultLoop injects one fault every interval for d: tracker 0 or 1 is
// SIGKILLed and restarted on its address, or (every third time) a storage
// node is killed and restarted 300 ms later. It returns how many faults it
// injected.
func (c *Cluster) faultLoop(t *testing.T, d, interval time.Duration) (faults int) {
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline); i++ {
		faults++
		time.Sleep(interval)
		switch i % 3 {
		case 0, 1:
			c.RestartTracker(t, i%2)
		case 2:
			n := (i / 3) % len(c.Nodes)
			c.StopNode(t, n)
			time.Sleep(300 * time.Millisecond)
			c.StartNode(t, n)
		}
	}
	return faults
}

// TestMountRidesOutTrackerRestart: with its only tracker restarting, the
// mount's mkdir and file store wait for it instead of failing with EIO.
func TestMountRidesOutTrackerRestart(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	if err := os.WriteFile(filepath.Join(m.Dir, "before"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.StopTracker(t, 0)
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(1500 * time.Millisecond)
		c.RestartTracker(t, 0)
	}()
	start := time.Now()
	if err := os.Mkdir(filepath.Join(m.Dir, "during"), 0o755); err != nil {
		t.Fatalf("mkdir while the tracker restarts: %v", err)
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "during", "f"), []byte("while down"), 0o644); err != nil {
		t.Fatalf("store while the tracker restarts: %v", err)
	}
	<-restarted
	t.Logf("mkdir and store waited %v for the tracker", time.Since(start))
	// Unmount while the restarted tracker runs (cleanups run last first).
	t.Cleanup(func() { exec.Command("umount", m.Dir).Run() })
	cl := c.Client(t)
	var got bytes.Buffer
	if _, err := cl.Fetch(t.Context(), c.Opts.Domain, "during/f", &got); err != nil || got.String() != "while down" {
		t.Errorf("during/f reads %q, %v", got.String(), err)
	}
}
