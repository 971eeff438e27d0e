package meta

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// sqliteWALBackstop is the writer's own wal_autocheckpoint, in pages: far
// above what the background checkpointer lets the WAL reach, so it only
// fires when that falls behind (about 40 MB of WAL at 4 KiB pages).
const sqliteWALBackstop = 10000

// checkpointEvery is how often the checkpointer looks for new commits.
const checkpointEvery = 200 * time.Millisecond

// startCheckpointer runs a PASSIVE WAL checkpoint on db (a connection other
// than the writer's) every checkpointEvery when something was committed
// since the last one. A passive checkpoint copies committed frames into the
// database file and fsyncs it without taking the write lock, so commits go
// on meanwhile; SQLite rewinds the WAL at the next write once a checkpoint
// has copied all of it. Durability is unchanged: a commit is durable once
// its WAL frames are synced, checkpointed or not.
func (g *committer) startCheckpointer(db *sql.DB, log *slog.Logger) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		var done int64
		for {
			select {
			case <-g.quit:
				return
			case <-t.C:
			}
			n := g.commits.Load()
			if n == done {
				continue
			}
			if _, err := db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				log.Warn("wal checkpoint", "err", err)
				continue
			}
			done = n
		}
	}()
}
