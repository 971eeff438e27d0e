package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

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

// TestSoak runs mixed load (create, overwrite, rename, delete, read-verify)
// from four clients through two trackers while trackers and storage nodes
// are killed and restarted on a schedule, then checks every key against
// what the acknowledged operations say it holds. It runs for 10 s under
// `go test`; scripts/soak --minutes N runs it for N minutes.
func TestSoak(t *testing.T) {
	d := 10 * time.Second
	if v := os.Getenv("MOGFS_SOAK_MINUTES"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m <= 0 {
			t.Fatalf("MOGFS_SOAK_MINUTES=%q: want a number of minutes", v)
		}
		d = time.Duration(m * float64(time.Minute))
	}
	// No get_paths cache: with it, a read through the other tracker may see
	// a key's previous fid for its TTL (as with the original's memcache),
	// which the read-verify step would report.
	c := StartCluster(t, ClusterOpts{TrackerArgs: []string{"--queue_lease=5", "--get_paths_cache_ttl=0"}})
	c.StartTracker(t)
	cl := c.Client(t)
	dom, class := c.Opts.Domain, c.Opts.Class

	type worker struct {
		keys  map[string]*soakState
		ops   map[string]int
		wrong []string // reads that returned bytes no acknowledged state allows
	}
	workers := make([]*worker, 4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wk := &worker{keys: map[string]*soakState{}, ops: map[string]int{}}
		workers[w] = wk
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
					key := fmt.Sprintf("soak/w%d/%06d", w, next)
					next++
					b, h := body()
					_, err := cl.Store(ctx, dom, key, class, bytes.NewReader(b), int64(len(b)))
					if err == nil {
						wk.keys[key] = certain(h)
					} else {
						wk.keys[key] = &soakState{hashes: map[[32]byte]bool{h: true}, absent: true}
					}
					wk.ops["create"]++
				case op < 5: // overwrite
					key, _ := pick()
					b, h := body()
					_, err := cl.Store(ctx, dom, key, class, bytes.NewReader(b), int64(len(b)))
					if err == nil {
						wk.keys[key] = certain(h)
					} else {
						wk.keys[key].hashes[h] = true
					}
					wk.ops["overwrite"]++
				case op < 6: // rename
					from, _ := pick()
					to := fmt.Sprintf("soak/w%d/%06d", w, next)
					next++
					err := cl.Rename(ctx, dom, from, to)
					st := wk.keys[from]
					switch {
					case err == nil:
						wk.keys[to] = st
						delete(wk.keys, from)
					case protocol.IsCode(err, "unknown_key"):
						st.hashes, st.absent = map[[32]byte]bool{}, true // it was not there
					default:
						both := &soakState{hashes: st.hashes, absent: true}
						wk.keys[to], wk.keys[from] = both, &soakState{hashes: st.hashes, absent: true}
					}
					wk.ops["rename"]++
				case op < 7: // delete
					key, _ := pick()
					err := cl.Delete(ctx, dom, key)
					if err == nil || protocol.IsCode(err, "unknown_key") {
						delete(wk.keys, key)
					} else {
						wk.keys[key].absent = true
					}
					wk.ops["delete"]++
				default: // read-verify
					key, _ := pick()
					var got bytes.Buffer
					if _, err := cl.Fetch(ctx, dom, key, &got); err == nil {
						if st := wk.keys[key]; !st.hashes[sha256.Sum256(got.Bytes())] {
							wk.wrong = append(wk.wrong, fmt.Sprintf("%s read %d bytes no acknowledged state allows", key, got.Len()))
						}
					}
					wk.ops["read"]++
				}
			}
		})
	}

	c.faultLoop(t, d, 700*time.Millisecond)
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
	t.Logf("%v of faults, operations: %v", d, ops)
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
	for k, st := range want {
		if !present[k] {
			if !st.absent {
				t.Errorf("%s was acknowledged and is gone", k)
			}
			continue
		}
		var got bytes.Buffer
		if _, err := cl.Fetch(t.Context(), dom, k, &got); err != nil {
			t.Errorf("%s is listed but does not read: %v", k, err)
		} else if !st.hashes[sha256.Sum256(got.Bytes())] {
			t.Errorf("%s holds %d bytes that no acknowledged operation wrote", k, got.Len())
		}
	}
	if ops["read"] == 0 || ops["create"] < 20 {
		t.Errorf("the load hardly ran: %v", ops)
	}
}
