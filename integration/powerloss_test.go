package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
	"mogfs/trackerd/meta"
)

// TestPowerLoss cuts the power under the SQLite metadata store, in
// simulation. trackerd runs with testdata/powerloss/fsyncshim.c preloaded,
// which on every fsync of the database or its WAL copies the file to an
// image beside it: at any instant the images are what a power cut would
// leave on disk (unsynced writes lost; see the shim for the model). While
// six clients store, overwrite, rename and delete small files, the test
// copies the images at random instants, all under the shim's lock so the
// copy is one instant, and afterwards opens each copy with meta.Open as a
// restarted tracker would. Each must open, pass PRAGMA integrity_check,
// and hold every key as the last operation on it acknowledged before the
// copy began left it (or as an operation still in flight left it): fid,
// length and the file_on row of the device written; a key deleted or
// renamed away must be absent.
//
// With --sqlite_synchronous=FULL (the default) nothing acknowledged may be
// missing. With NORMAL the WAL is synced only by checkpoints (every 200 ms
// under load), so the commits acknowledged since the last one are lost at
// a cut; the test requires that it sees such losses, which shows it can
// tell the two apart, and that nothing else goes wrong (every copy opens
// whole, each key holds one of its own past states, and no loss is older
// than a few seconds). Seen on a loaded 2-CPU machine: FULL, about 11 cuts
// a run over 2,000-8,000 acknowledged operations, none lost; NORMAL,
// nearly every cut lost some (200-1,000 key states a run), none
// acknowledged much more than 200 ms before its cut.
func TestPowerLoss(t *testing.T) {
	shim := buildFsyncShim(t)
	load := 5 * time.Second
	if testing.Short() {
		load = 2 * time.Second
	}
	t.Run("full", func(t *testing.T) {
		r := powerLoss(t, shim, "FULL", load)
		if r.lost > 0 {
			t.Errorf("%d acknowledged key states missing after power cuts with synchronous=FULL", r.lost)
		}
	})
	t.Run("normal", func(t *testing.T) {
		r := powerLoss(t, shim, "NORMAL", load)
		if r.lost == 0 {
			t.Errorf("no power cut lost an acknowledged commit with synchronous=NORMAL: the test cannot tell it from FULL")
		}
		// Only the last commits: the checkpointer syncs the WAL every
		// 200 ms under load (losses seen are up to about 200 ms old).
		if r.oldest > 5*time.Second {
			t.Errorf("a power cut lost a commit acknowledged %v before it, want only the last commits (under 5s)", r.oldest)
		}
	})
}

// powerLossReport sums what the power cuts of one run showed.
type powerLossReport struct {
	cuts    int
	acked   int           // operations acknowledged before their cut, summed over cuts
	checked int           // key states checked, summed over cuts
	lost    int           // key states older than acknowledged, summed over cuts
	oldest  time.Duration // longest time between a lost state's acknowledgement and its cut
}

func powerLoss(t *testing.T, shim, synchronous string, load time.Duration) powerLossReport {
	dir := t.TempDir()
	db := filepath.Join(dir, "mogilefs.db")
	syncLog := filepath.Join(dir, "sync.log")
	c := StartCluster(t, ClusterOpts{
		DSN:         "DBI:SQLite:dbname=" + db,
		TrackerArgs: []string{"--sqlite_synchronous=" + synchronous},
		TrackerEnv:  []string{"LD_PRELOAD=" + shim, "MOGFS_POWERLOSS_DB=" + db, "MOGFS_POWERLOSS_LOG=" + syncLog},
	})
	h := &opHistory{keys: map[string][]keyChange{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []error
	for w := range 6 {
		cl := c.Client(t)
		wg.Go(func() {
			errs := powerLossWriter(t.Context(), cl, c.Opts.Domain, c.Opts.Class, fmt.Sprintf("pl/w%d/", w), uint64(w), h, stop)
			mu.Lock()
			failed = append(failed, errs...)
			mu.Unlock()
		})
	}

	var cuts []powerCut
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for deadline := time.Now().Add(load); time.Now().Before(deadline); {
		time.Sleep(time.Duration(150+rng.IntN(550)) * time.Millisecond)
		cuts = append(cuts, cutPower(t, db, filepath.Join(dir, fmt.Sprintf("cut%02d", len(cuts)))))
	}
	close(stop)
	wg.Wait()
	if len(failed) > 0 {
		t.Errorf("%d operations failed, want none: %v", len(failed), errors.Join(failed[:min(len(failed), 3)]...))
	}

	var r powerLossReport
	for _, cut := range cuts {
		one := checkPowerCut(t, h, c.Opts.Domain, cut)
		r.cuts++
		r.acked += one.acked
		r.checked += one.checked
		r.lost += one.lost
		r.oldest = max(r.oldest, one.oldest)
	}
	calls := shimCalls(t, syncLog)
	t.Logf("synchronous=%s: %d operations acknowledged in %v; %d power cuts, checking %d operations acknowledged before their cut (%d key states), %d key states lost (the oldest acknowledged %v before its cut); sync calls seen by the shim: %v",
		synchronous, h.ackedOps(), load, r.cuts, r.acked, r.checked, r.lost, r.oldest.Round(time.Millisecond), calls)
	if calls["fsync wal"]+calls["fdatasync wal"] == 0 {
		t.Errorf("the shim saw no sync of the WAL (%v): was it preloaded?", calls)
	}
	for call, n := range calls {
		if !strings.HasPrefix(call, "fsync ") && !strings.HasPrefix(call, "fdatasync ") {
			t.Errorf("shim logged %q %d times: a sync path outside its model, or a failed publication", call, n)
		}
	}
	if r.cuts < 3 || r.acked == 0 {
		t.Fatalf("%d power cuts over %d acknowledged operations: the load did not run", r.cuts, r.acked)
	}
	return r
}

// buildFsyncShim compiles the LD_PRELOAD library into a temporary directory.
func buildFsyncShim(t *testing.T) string {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		testenv.Missing(t, "no gcc to build the fsync shim: %v", err)
	}
	out := filepath.Join(t.TempDir(), "fsyncshim.so")
	// -U_FORTIFY_SOURCE: a fortified fcntl.h defines open() inline, which
	// would clash with the shim's.
	cmd := exec.Command(gcc, "-shared", "-fPIC", "-O2", "-Wall", "-U_FORTIFY_SOURCE", "-o", out,
		filepath.Join("testdata", "powerloss", "fsyncshim.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fsync shim: %v\n%s", err, b)
	}
	return out
}

// shimCalls counts the shim's log lines ("fsync wal", "fsync db", ...).
func shimCalls(t *testing.T, path string) map[string]int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("shim log: %v", err)
	}
	calls := map[string]int{}
	for line := range strings.Lines(string(b)) {
		calls[strings.TrimSpace(line)]++
	}
	return calls
}

// powerCut is a copy of the database as a power cut would have left it.
type powerCut struct {
	db         string    // the copied database file (its -wal beside it)
	start, end time.Time // the copy was taken at one instant between these
}

// cutPower copies the shim's images of db into dir under their real names,
// holding the shim's lock, so that together they are the files at one
// instant.
func cutPower(t *testing.T, db, dir string) powerCut {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cut := powerCut{db: filepath.Join(dir, filepath.Base(db)), start: time.Now()}
	lk, err := os.OpenFile(db+".durable.lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close() // releases the lock
	if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("flock: %v", err)
	}
	for _, suffix := range []string{"", "-wal", "-journal"} {
		err := copyFile(db+suffix+".durable", cut.db+suffix)
		if errors.Is(err, os.ErrNotExist) {
			if suffix == "" {
				t.Fatalf("no durable image of the database yet")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	syscall.Flock(int(lk.Fd()), syscall.LOCK_UN)
	cut.end = time.Now()
	return cut
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// keyState is what the file table holds for one key: nothing (fid 0), or a
// fid with its length and the device its create_close named.
type keyState struct {
	fid    int64
	length int64
	devid  int
}

// keyChange is one operation's effect on one key. ack is zero until the
// operation is acknowledged, and stays zero if it failed.
type keyChange struct {
	to         keyState
	start, ack time.Time
}

// opHistory records every key's changes in order. Each key belongs to one
// writer, which runs one operation at a time, so a key's changes never
// overlap.
type opHistory struct {
	mu   sync.Mutex // guards keys and acks
	keys map[string][]keyChange
	acks []time.Time // acknowledgement time of each acknowledged operation
}

// begin records an operation about to be sent that leaves each key of
// effects in its state; done marks it acknowledged if ok.
func (h *opHistory) begin(effects map[string]keyState) (done func(ok bool)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := time.Now()
	at := map[string]int{}
	for key, st := range effects {
		at[key] = len(h.keys[key])
		h.keys[key] = append(h.keys[key], keyChange{to: st, start: start})
	}
	return func(ok bool) {
		if !ok {
			return
		}
		ack := time.Now()
		h.mu.Lock()
		defer h.mu.Unlock()
		for key, i := range at {
			h.keys[key][i].ack = ack
		}
		h.acks = append(h.acks, ack)
	}
}

func (h *opHistory) ackedOps() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.acks)
}

// powerLossWriter stores, overwrites, renames and deletes small files under
// prefix until stop, one operation at a time, recording each in h. It
// returns the errors of failed operations; a key whose operation failed is
// not used again.
func powerLossWriter(ctx context.Context, cl *client.Client, dom, class, prefix string, seed uint64, h *opHistory, stop <-chan struct{}) []error {
	rng := rand.New(rand.NewPCG(seed, 11))
	var live []string // keys this writer holds, in no order
	var errs []error
	drop := func(i int) { live[i] = live[len(live)-1]; live = live[:len(live)-1] }
	store := func(key string) bool {
		body := make([]byte, rng.IntN(4096))
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		size := int64(len(body))
		open, err := cl.CreateOpen(ctx, dom, key, class, size)
		if err == nil {
			err = cl.Put(ctx, open.Dests[0].Path, bytes.NewReader(body), size)
		}
		if err != nil { // nothing of the key changed yet
			errs = append(errs, err)
			return false
		}
		d := open.Dests[0]
		done := h.begin(map[string]keyState{key: {fid: open.FID, length: size, devid: d.DevID}})
		err = cl.CreateClose(ctx, dom, key, open.FID, d, size, "")
		done(err == nil)
		if err != nil {
			errs = append(errs, err)
		}
		return err == nil
	}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return errs
		default:
		}
		key := fmt.Sprintf("%s%06d", prefix, n)
		i := -1
		if len(live) > 0 {
			i = rng.IntN(len(live))
		}
		switch r := rng.IntN(100); {
		case i >= 0 && r < 10: // delete
			done := h.begin(map[string]keyState{live[i]: {}})
			err := cl.Delete(ctx, dom, live[i])
			done(err == nil)
			if err != nil {
				errs = append(errs, err)
			}
			drop(i)
		case i >= 0 && r < 20: // rename to a new key
			h.mu.Lock()
			changes := h.keys[live[i]]
			st := changes[len(changes)-1].to
			h.mu.Unlock()
			done := h.begin(map[string]keyState{live[i]: {}, key: st})
			err := cl.Rename(ctx, dom, live[i], key)
			done(err == nil)
			drop(i)
			if err != nil {
				errs = append(errs, err)
			} else {
				live = append(live, key)
			}
		case i >= 0 && r < 30: // overwrite: a new fid under the same key
			if !store(live[i]) {
				drop(i)
			}
		default:
			if store(key) {
				live = append(live, key)
			}
		}
	}
}

// cutReport is what one power cut showed.
type cutReport struct {
	acked, checked, lost int
	oldest               time.Duration
}

// checkPowerCut opens the copy as a restarted tracker would (meta.Open,
// which recovers the WAL), checks its integrity, and compares each key of h
// with what h says it may hold at the cut.
//
// A key may hold the state its last operation acknowledged before
// cut.start left, or that of a later operation sent before cut.end (in
// flight at the cut, so either way is right). An older state of the key is
// a lost commit, counted; any other state is an error.
func checkPowerCut(t *testing.T, h *opHistory, dom string, cut powerCut) cutReport {
	ctx := t.Context()
	name := filepath.Base(filepath.Dir(cut.db))
	s, err := meta.Open(ctx, meta.Config{DSN: "DBI:SQLite:dbname=" + cut.db})
	if err != nil {
		t.Fatalf("%s: the database does not open after a power cut: %v", name, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("%s: close: %v", name, err)
	}
	db, err := sql.Open("sqlite3", "file:"+cut.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("%s: integrity_check = %q, %v, want ok", name, ok, err)
	}
	got, on := snapshotFiles(t, db, dom)

	h.mu.Lock()
	defer h.mu.Unlock()
	var r cutReport
	for _, ack := range h.acks {
		if ack.Before(cut.start) {
			r.acked++
		}
	}
	var lost []string
	for key, changes := range h.keys {
		g := got[key]
		delete(got, key)
		// certain is the last change acknowledged before the cut (-1:
		// the key's initial absence).
		certain := -1
		for i, ch := range changes {
			if !ch.ack.IsZero() && ch.ack.Before(cut.start) {
				certain = i
			}
		}
		stateAt := func(i int) keyState {
			if i < 0 {
				return keyState{}
			}
			return changes[i].to
		}
		if certain >= 0 {
			r.checked++
		}
		// Changes sent before the cut ended may be there or not.
		match := -2
		for i := certain; i < len(changes) && (i == certain || changes[i].start.Before(cut.end)); i++ {
			if stateAt(i).fid == g.fid {
				match = i
				break
			}
		}
		if match != -2 {
			if want := stateAt(match); g.fid != 0 && (g.length != want.length || !on[[2]int64{g.fid, int64(want.devid)}]) {
				t.Errorf("%s: %s holds fid %d of %d bytes (file_on dev%d: %v), want %d bytes on dev%d",
					name, key, g.fid, g.length, want.devid, on[[2]int64{g.fid, int64(want.devid)}], want.length, want.devid)
			}
			continue
		}
		// An older state: the changes after it up to certain are lost.
		older := -2
		for i := certain - 1; i >= -1; i-- {
			if stateAt(i).fid == g.fid {
				older = i
				break
			}
		}
		if older == -2 {
			t.Errorf("%s: %s holds fid %d, which no operation on it left there", name, key, g.fid)
			continue
		}
		r.lost++
		r.oldest = max(r.oldest, cut.start.Sub(changes[older+1].ack))
		if len(lost) < 5 {
			lost = append(lost, fmt.Sprintf("%s: fid %d, want fid %d acknowledged %v before the cut",
				key, g.fid, stateAt(certain).fid, cut.start.Sub(changes[certain].ack).Round(time.Millisecond)))
		}
	}
	for key, g := range got {
		t.Errorf("%s: %s holds fid %d, but no operation stored it", name, key, g.fid)
	}
	if len(lost) > 0 {
		t.Logf("%s: %d acknowledged key states lost, e.g. %s", name, r.lost, strings.Join(lost, "; "))
	}
	return r
}

// snapshotFiles reads dom's keys (fid and length) and every file_on row.
func snapshotFiles(t *testing.T, db *sql.DB, dom string) (map[string]keyState, map[[2]int64]bool) {
	ctx := t.Context()
	var dmid int
	if err := db.QueryRowContext(ctx, "SELECT dmid FROM domain WHERE namespace = ?", dom).Scan(&dmid); err != nil {
		t.Fatalf("domain %s: %v", dom, err)
	}
	files := map[string]keyState{}
	rows, err := db.QueryContext(ctx, "SELECT dkey, fid, length FROM file WHERE dmid = ?", dmid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key string
		var st keyState
		if err := rows.Scan(&key, &st.fid, &st.length); err != nil {
			t.Fatal(err)
		}
		files[key] = st
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	on := map[[2]int64]bool{}
	rows, err = db.QueryContext(ctx, "SELECT fid, devid FROM file_on")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var fid, devid int64
		if err := rows.Scan(&fid, &devid); err != nil {
			t.Fatal(err)
		}
		on[[2]int64{fid, devid}] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return files, on
}
