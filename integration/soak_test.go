package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
	"mogfs/protocol"
)

// soakState is what a key may hold after the operations on it: the hashes
// it may read back with, and whether it may be absent. An operation that
// returned an error may or may not have happened, so it widens the set;
// one that returned OK narrows it to its result.
type soakState struct {
	hashes map[[32]byte]bool
	absent bool
}

func certain(h [32]byte) *soakState { return &soakState{hashes: map[[32]byte]bool{h: true}} }

// soakActor is one way to reach the store: the client library or a mount.
// gone reports an error that proves the key was not there.
type soakActor struct {
	name   string
	store  func(ctx context.Context, key string, b []byte) error
	rename func(ctx context.Context, from, to string) error
	remove func(ctx context.Context, key string) error
	read   func(ctx context.Context, key string) ([]byte, error)
	gone   func(err error) bool
}

func clientActor(cl *client.Client, dom, class string) soakActor {
	return soakActor{
		name: "client",
		store: func(ctx context.Context, key string, b []byte) error {
			_, err := cl.Store(ctx, dom, key, class, bytes.NewReader(b), int64(len(b)))
			return err
		},
		rename: func(ctx context.Context, from, to string) error { return cl.Rename(ctx, dom, from, to) },
		remove: func(ctx context.Context, key string) error { return cl.Delete(ctx, dom, key) },
		read: func(ctx context.Context, key string) ([]byte, error) {
			var got bytes.Buffer
			_, err := cl.Fetch(ctx, dom, key, &got)
			return got.Bytes(), err
		},
		gone: func(err error) bool { return protocol.IsCode(err, "unknown_key") },
	}
}

// mountActor works on keys through the mounted domain, as ordinary
// programs do: write and close (0 means stored), rename, unlink, read.
func mountActor(dir string) soakActor {
	p := func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
	return soakActor{
		name:   "mount",
		store:  func(_ context.Context, key string, b []byte) error { return os.WriteFile(p(key), b, 0o644) },
		rename: func(_ context.Context, from, to string) error { return os.Rename(p(from), p(to)) },
		remove: func(_ context.Context, key string) error { return os.Remove(p(key)) },
		read:   func(_ context.Context, key string) ([]byte, error) { return os.ReadFile(p(key)) },
		gone:   func(err error) bool { return errors.Is(err, os.ErrNotExist) },
	}
}

// TestSoak runs mixed load (create, overwrite, rename, delete, read-verify)
// from four clients and a mount through two trackers while trackers and
// storage nodes are killed and restarted on a schedule, then checks every
// key against what the acknowledged operations say it holds. It runs for
// 10 s under `go test` (scripts/test runs it for a minute in CI);
// scripts/soak --minutes N runs it for N minutes.
func TestSoak(t *testing.T) {
	d := 10 * time.Second
	if v := os.Getenv("MOGFS_SOAK_MINUTES"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m <= 0 {
			t.Fatalf("MOGFS_SOAK_MINUTES=%q: want a number of minutes", v)
		}
		d = time.Duration(m * float64(time.Minute))
	}
	testenv.RequireFUSE(t)
	// No get_paths cache: with it, a read through the other tracker may see
	// a key's previous fid for its TTL (as with the original's memcache),
	// which the read-verify step would report.
	c := StartCluster(t, ClusterOpts{TrackerArgs: []string{"--queue_lease=5", "--get_paths_cache_ttl=0"}})
	c.StartTracker(t)
	cl := c.Client(t)
	dom, class := c.Opts.Domain, c.Opts.Class
	m := mountMogfs(t, c)
	if err := os.MkdirAll(filepath.Join(m.Dir, "soak", "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	actors := []soakActor{clientActor(cl, dom, class), clientActor(cl, dom, class), clientActor(cl, dom, class),
		clientActor(cl, dom, class), mountActor(m.Dir)}

	type worker struct {
		keys  map[string]*soakState
		ops   map[string]int
		wrong []string // reads that returned bytes no acknowledged state allows
	}
	workers := make([]*worker, len(actors))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, act := range actors {
		wk := &worker{keys: map[string]*soakState{}, ops: map[string]int{}}
		workers[w] = wk
		prefix := fmt.Sprintf("soak/w%d-", w)
		if act.name == "mount" {
			prefix = "soak/m/"
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			next := 0
			pick := func() (string, bool) {
				for k := range wk.keys { // map order is random enough here
					return k, true
				}
				return "", false
			}
			body := func() ([]byte, [32]byte) {
				b := randomBody(rng, 64<<10)
				return b, sha256.Sum256(b)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx := t.Context()
				switch op := rng.IntN(10); {
				case op < 3 || len(wk.keys) < 5: // create
					key := fmt.Sprintf("%s%06d", prefix, next)
					next++
					b, h := body()
					if err := act.store(ctx, key, b); err == nil {
						wk.keys[key] = certain(h)
					} else {
						wk.keys[key] = &soakState{hashes: map[[32]byte]bool{h: true}, absent: true}
					}
					wk.ops[act.name+" create"]++
				case op < 5: // overwrite
					key, _ := pick()
					b, h := body()
					if err := act.store(ctx, key, b); err == nil {
						wk.keys[key] = certain(h)
					} else {
						wk.keys[key].hashes[h] = true
					}
					wk.ops[act.name+" overwrite"]++
				case op < 6: // rename
					from, _ := pick()
					to := fmt.Sprintf("%s%06d", prefix, next)
					next++
					err := act.rename(ctx, from, to)
					st := wk.keys[from]
					switch {
					case err == nil:
						wk.keys[to] = st
						delete(wk.keys, from)
					case act.gone(err):
						st.hashes, st.absent = map[[32]byte]bool{}, true // it was not there
					default:
						both := &soakState{hashes: st.hashes, absent: true}
						wk.keys[to], wk.keys[from] = both, &soakState{hashes: st.hashes, absent: true}
					}
					wk.ops[act.name+" rename"]++
				case op < 7: // delete
					key, _ := pick()
					err := act.remove(ctx, key)
					if err == nil || act.gone(err) {
						delete(wk.keys, key)
					} else {
						wk.keys[key].absent = true
					}
					wk.ops[act.name+" delete"]++
				default: // read-verify
					key, _ := pick()
					if got, err := act.read(ctx, key); err == nil {
						if st := wk.keys[key]; !st.hashes[sha256.Sum256(got)] {
							wk.wrong = append(wk.wrong, fmt.Sprintf("%s read %d bytes through the %s that no acknowledged state allows", key, len(got), act.name))
						}
					}
					wk.ops[act.name+" read"]++
				}
			}
		})
	}

	faults := c.faultLoop(t, d, 700*time.Millisecond)
	close(stop)
	wg.Wait()

	// Every key the model knows holds what it allows; nothing else exists.
	want := map[string]*soakState{}
	ops := map[string]int{}
	for _, wk := range workers {
		for k, st := range wk.keys {
			want[k] = st
		}
		for op, n := range wk.ops {
			ops[op] += n
		}
		for _, w := range wk.wrong {
			t.Error(w)
		}
	}
	var listed []string
	for after := ""; ; {
		keys, next, err := cl.ListKeys(t.Context(), dom, "soak/", after, 1000)
		if err != nil || len(keys) == 0 {
			break
		}
		listed = append(listed, keys...)
		after = next
	}
	present := map[string]bool{}
	for _, k := range listed {
		present[k] = true
		if want[k] == nil {
			t.Errorf("%s exists, but no operation could have made it", k)
		}
	}
	verified, lost := 0, 0
	for k, st := range want {
		if !present[k] {
			if !st.absent {
				lost++
				t.Errorf("%s was acknowledged and is gone", k)
			}
			continue
		}
		var got bytes.Buffer
		if _, err := cl.Fetch(t.Context(), dom, k, &got); err != nil {
			lost++
			t.Errorf("%s is listed but does not read: %v", k, err)
		} else if !st.hashes[sha256.Sum256(got.Bytes())] {
			lost++
			t.Errorf("%s holds %d bytes that no acknowledged operation wrote", k, got.Len())
		} else {
			verified++
		}
	}
	total := 0
	for _, n := range ops {
		total += n
	}
	t.Logf("soak: %v, %d operations %v, %d faults injected, %d files verified, %d files lost", d, total, ops, faults, verified, lost)
	if ops["client read"] == 0 || ops["client create"] < 20 || ops["mount create"] < 5 || ops["mount read"] == 0 {
		t.Errorf("the load hardly ran: %v", ops)
	}
}
