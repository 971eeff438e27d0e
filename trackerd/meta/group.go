package meta

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxGroup bounds how many write transactions share one commit.
const maxGroup = 64

// committer is SQLite group commit. With synchronous=FULL every COMMIT
// costs an fsync of the WAL (milliseconds), and SQLite has one writer, so
// eight clients closing files at once would wait for eight fsyncs in a row.
// Instead every write transaction of the Store is handed to one goroutine,
// which runs whatever is queued when it becomes free (up to maxGroup) in one
// transaction, each inside its own SAVEPOINT, and commits once: one fsync
// for the lot. A transaction that fails is rolled back to its savepoint and
// gets its error; the others commit. Durability is unchanged: nobody hears
// "done" before the COMMIT that holds its writes has returned.
//
// Why the fallback to one transaction each: a cancelled request context
// interrupts the statement it is running (sqlite3_interrupt), and SQLite may
// then roll back the whole transaction, taking the other members' work with
// it. So when a member fails with its context done, or its savepoint cannot
// be rolled back to, or the COMMIT fails, the batch is rolled back and every
// member not yet answered runs again alone. Transaction functions are
// already written to be re-run (Store.tx retries them on SQLITE_BUSY).
type committer struct {
	db   *sql.DB // the single writer connection
	ops  chan *groupOp
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	// commits counts COMMITs, for the checkpointer (checkpoint.go).
	commits atomic.Int64
}

// groupOp is one write transaction waiting for the committer.
type groupOp struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error // buffered; receives exactly one result
}

func newCommitter(db *sql.DB) *committer {
	g := &committer{db: db, ops: make(chan *groupOp, maxGroup), quit: make(chan struct{})}
	g.wg.Add(1)
	go g.loop()
	return g
}

// do runs fn in a write transaction shared with whatever else is queued
// and returns once that transaction committed (or fn failed).
func (g *committer) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	op := &groupOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return ErrClosed
	}
	// Wait even if ctx ends now: the op may already be in a transaction,
	// and the caller must not reuse what fn writes to meanwhile.
	return <-op.done
}

// close stops the loop after the queued ops got their answers.
func (g *committer) close() {
	g.once.Do(func() { close(g.quit) })
	g.wg.Wait()
}

func (g *committer) loop() {
	defer g.wg.Done()
	batch := make([]*groupOp, 0, maxGroup)
	for {
		batch = batch[:0]
		select {
		case op := <-g.ops:
			batch = append(batch, op)
		case <-g.quit:
			for {
				select {
				case op := <-g.ops:
					op.done <- ErrClosed
				default:
					return
				}
			}
		}
	collect:
		for len(batch) < maxGroup {
			select {
			case op := <-g.ops:
				batch = append(batch, op)
			default:
				break collect
			}
		}
		g.run(batch)
	}
}

// run commits one batch; see committer for the failure handling.
func (g *committer) run(batch []*groupOp) {
	if len(batch) == 1 {
		g.runAlone(batch[0])
		return
	}
	ctx := context.Background() // members' contexts only bound their statements
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range batch {
			op.done <- err
		}
		return
	}
	pending := make([]*groupOp, 0, len(batch))
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.done <- err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT g"); err != nil {
			tx.Rollback()
			g.rerun(append(pending, batch[i:]...))
			return
		}
		err := op.fn(tx)
		if err == nil {
			if _, err := tx.ExecContext(ctx, "RELEASE g"); err != nil {
				tx.Rollback()
				g.rerun(append(pending, batch[i:]...))
				return
			}
			pending = append(pending, op)
			continue
		}
		if op.ctx.Err() != nil {
			// Possibly interrupted: the transaction may be gone.
			tx.Rollback()
			op.done <- err
			g.rerun(append(pending, batch[i+1:]...))
			return
		}
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO g"); rerr != nil {
			tx.Rollback()
			g.rerun(append(pending, batch[i:]...))
			return
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE g"); rerr != nil {
			tx.Rollback()
			g.rerun(append(pending, batch[i:]...))
			return
		}
		op.done <- err
	}
	err = tx.Commit()
	g.commits.Add(1)
	if err != nil {
		g.rerun(pending)
		return
	}
	for _, op := range pending {
		op.done <- nil
	}
}

func (g *committer) rerun(ops []*groupOp) {
	for _, op := range ops {
		g.runAlone(op)
	}
}

// runAlone runs one op in its own transaction.
func (g *committer) runAlone(op *groupOp) {
	if err := op.ctx.Err(); err != nil {
		op.done <- err
		return
	}
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		op.done <- err
		return
	}
	if err := op.fn(tx); err != nil {
		tx.Rollback()
		op.done <- err
		return
	}
	err = tx.Commit()
	g.commits.Add(1)
	op.done <- err
}
