package meta_test

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// TestSQLiteLockStale: a lock-table row older than the taker's ttl, or held
// by a dead process on this host, is broken; the old holder's release then
// leaves the new holder's row alone.
func TestSQLiteLockStale(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := metatest.SQLiteConfig(t)
	a, b := metatest.Open(t, cfg), metatest.Open(t, cfg)
	relA, ok, err := a.TryLock(ctx, "mgfs:tempfiles", time.Second)
	if err != nil || !ok {
		t.Fatalf("TryLock(a) = %v, %v", ok, err)
	}
	if _, ok, _ := b.TryLock(ctx, "mgfs:tempfiles", time.Second); ok {
		t.Fatal("TryLock(b) succeeded while a holds a fresh lock")
	}
	time.Sleep(2100 * time.Millisecond)
	relB, ok, err := b.TryLock(ctx, "mgfs:tempfiles", time.Second)
	if err != nil || !ok {
		t.Fatalf("TryLock(b) on a stale lock = %v, %v", ok, err)
	}
	relA() // a's lease ended: this must not free b's lock
	if _, ok, _ := a.TryLock(ctx, "mgfs:tempfiles", time.Hour); ok {
		t.Fatal("a's late release freed b's lock")
	}
	relB()

	// A holder process that has exited on this host: broken at once.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	raw := metatest.RawDB(t, cfg)
	// Find the lockid of the name by taking it (the only row), then plant
	// the dead holder's row under that id.
	rel, ok, _ := a.TryLock(ctx, "dead-holder", time.Hour)
	if !ok {
		t.Fatal("TryLock(dead-holder) failed on a free lock")
	}
	var id int64
	if err := raw.QueryRowContext(ctx, "SELECT lockid FROM lock").Scan(&id); err != nil {
		t.Fatal(err)
	}
	rel()
	now, _ := a.Now(ctx)
	if _, err := raw.ExecContext(ctx, "INSERT INTO lock (lockid, hostname, pid, acquiredat) VALUES (?, ?, ?, ?)",
		id, host, cmd.Process.Pid, now.Unix()); err != nil {
		t.Fatal(err)
	}
	if rel, ok, err := b.TryLock(ctx, "dead-holder", time.Hour); err != nil || !ok {
		t.Fatalf("TryLock over a dead holder = %v, %v", ok, err)
	} else {
		rel()
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, err := meta.Open(ctx, meta.Config{DSN: "DBI:Pg:dbname=x"})
	if !errors.Is(err, meta.ErrBadDSN) {
		t.Fatalf("Open(Pg) = %v, want ErrBadDSN", err)
	}
	// Nothing listens on a free port: a clear error, not a hang or panic.
	_, err = meta.Open(ctx, meta.Config{DSN: "DBI:mysql:x:host=127.0.0.1;port=1", User: "u", Pass: "p"})
	if err == nil {
		t.Fatal("Open(mysql on a closed port) succeeded")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/not.db", []byte("this is not a database, just text long enough to matter"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Open(ctx, meta.Config{DSN: "DBI:SQLite:dbname=" + dir + "/not.db"}); err == nil {
		t.Fatal("Open(a text file) succeeded")
	}
}
