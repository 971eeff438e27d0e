package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// EndOfTime is the nexttry of a replicate row that needs manual action
// (ENDOFTIME, 2147483647, in Replicate.pm): it never comes due on its own.
var EndOfTime = time.Unix(math.MaxInt32, 0)

// queueTable says where a Queue lives and how its rows map onto Job.
type queueTable struct {
	table string
	where string // extra condition selecting the queue's rows
	cols  string // fid, nexttry, failcount, source devid, arg
}

func tableOf(q Queue) (queueTable, error) {
	switch q {
	case QueueReplicate:
		return queueTable{"file_to_replicate", "", "fid, nexttry, failcount, fromdevid, NULL"}, nil
	case QueueDelete:
		return queueTable{"file_to_delete2", "", "fid, nexttry, failcount, NULL, NULL"}, nil
	case QueueFSCK:
		return queueTable{"file_to_queue", " AND type = 1", "fid, nexttry, failcount, devid, arg"}, nil
	case QueueRebalance:
		return queueTable{"file_to_queue", " AND type = 2", "fid, nexttry, failcount, devid, arg"}, nil
	}
	return queueTable{}, fmt.Errorf("meta: unknown queue %d", q)
}

// Enqueue inserts a queue row, keeping an existing row for the fid as it is
// (INSERT IGNORE, like the original's enqueue_* calls).
func (s *Store) Enqueue(ctx context.Context, j Job) error {
	var q string
	var args []any
	next := unixOrZero(j.NextTry)
	switch j.Queue {
	case QueueReplicate:
		q = " INTO file_to_replicate (fid, nexttry, fromdevid, failcount) VALUES (?, ?, ?, ?)"
		args = []any{j.FID, next, nullInt(int64(j.FromDevID)), j.FailCount}
	case QueueDelete:
		q = " INTO file_to_delete2 (fid, nexttry, failcount) VALUES (?, ?, ?)"
		args = []any{j.FID, next, j.FailCount}
	case QueueFSCK, QueueRebalance:
		q = " INTO file_to_queue (fid, type, nexttry, devid, failcount, arg) VALUES (?, ?, ?, ?, ?, ?)"
		args = []any{j.FID, int(j.Queue - QueueFSCK + 1), next, nullInt(int64(j.FromDevID)), j.FailCount, nullStr(j.Arg)}
	default:
		_, err := tableOf(j.Queue)
		return err
	}
	if _, err := s.exec(ctx, s.d.insertIgnore()+q, args...); err != nil {
		return fmt.Errorf("meta: enqueue fid %d: %w", j.FID, err)
	}
	return nil
}

// Claim takes up to n due rows (nexttry <= now), oldest nexttry first, and
// leases them by moving nexttry to now+lease in the same transaction. The
// rows are read FOR UPDATE (SKIP LOCKED where available) on MySQL, and
// SQLite's immediate transaction excludes other writers, so two claimers
// never get the same row; a claimer that dies leaves rows that come due
// again when the lease ends. Jobs carry the nexttry they had before.
func (s *Store) Claim(ctx context.Context, q Queue, n int, lease time.Duration) ([]Job, error) {
	t, err := tableOf(q)
	if err != nil || n <= 0 {
		return nil, err
	}
	leaseSec := max(int64(math.Ceil(lease.Seconds())), 1)
	var jobs []Job
	err = s.tx(ctx, func(tx *sql.Tx) error {
		jobs = jobs[:0]
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+t.cols+" FROM "+t.table+" WHERE nexttry <= ?"+t.where+
			" ORDER BY nexttry LIMIT ?"+s.d.claimLock(), now, n)
		if err != nil {
			return err
		}
		for rows.Next() {
			j, err := scanJob(rows, q)
			if err != nil {
				rows.Close()
				return err
			}
			jobs = append(jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(jobs) == 0 {
			return err
		}
		args := []any{now + leaseSec}
		for i := range jobs {
			jobs[i].LeaseEnd = unix(now + leaseSec)
			args = append(args, jobs[i].FID)
		}
		marks := strings.Repeat(",?", len(jobs))[1:]
		_, err = tx.ExecContext(ctx, "UPDATE "+t.table+" SET nexttry = ? WHERE fid IN ("+marks+")"+t.where, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta: claim %s: %w", t.table, err)
	}
	return jobs, nil
}

// Renew extends a claimed row's lease to now+lease, if the row still
// holds the lease end `from` (compare and swap): a row finished, retried
// or claimed again since is left alone. It returns the new lease end, or
// ok false when the row was not ours any more.
func (s *Store) Renew(ctx context.Context, q Queue, fid int64, from time.Time, lease time.Duration) (end time.Time, ok bool, err error) {
	t, err := tableOf(q)
	if err != nil {
		return time.Time{}, false, err
	}
	leaseSec := max(int64(math.Ceil(lease.Seconds())), 1)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE "+t.table+" SET nexttry = ? WHERE fid = ? AND nexttry = ?"+t.where,
			now+leaseSec, fid, from.Unix())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 1 {
			end, ok = unix(now+leaseSec), true
		}
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("meta: renew %s fid %d: %w", t.table, fid, err)
	}
	return end, ok, nil
}

// Finish deletes a queue row (absent is fine).
func (s *Store) Finish(ctx context.Context, q Queue, fid int64) error {
	t, err := tableOf(q)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, "DELETE FROM "+t.table+" WHERE fid = ?"+t.where, fid); err != nil {
		return fmt.Errorf("meta: finish %s fid %d: %w", t.table, fid, err)
	}
	return nil
}

// Retry reschedules a row at `at` with failcount+1 (capped at the column's
// 255); ErrNotFound when the row is gone.
func (s *Store) Retry(ctx context.Context, q Queue, fid int64, at time.Time) error {
	t, err := tableOf(q)
	if err != nil {
		return err
	}
	return s.execOne(ctx, fmt.Sprintf("retry %s fid %d", t.table, fid), "UPDATE "+t.table+
		" SET nexttry = ?, failcount = CASE WHEN failcount < 255 THEN failcount + 1 ELSE 255 END WHERE fid = ?"+t.where,
		unixOrZero(at), fid)
}

// QueueDepth counts a queue's rows, due or not.
func (s *Store) QueueDepth(ctx context.Context, q Queue) (int64, error) {
	t, err := tableOf(q)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.readRow(ctx, "SELECT COUNT(*) FROM "+t.table+" WHERE 1=1"+t.where).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: depth of %s: %w", t.table, err)
	}
	return n, nil
}

// QueueJob reads one queue row (file_debug); ErrNotFound when absent.
func (s *Store) QueueJob(ctx context.Context, q Queue, fid int64) (Job, error) {
	t, err := tableOf(q)
	if err != nil {
		return Job{}, err
	}
	j, err := scanJob(s.readRow(ctx, "SELECT "+t.cols+" FROM "+t.table+" WHERE fid = ?"+t.where, fid), q)
	if err != nil {
		return Job{}, fmt.Errorf("meta: %s fid %d: %w", t.table, fid, noRows(err))
	}
	return j, nil
}

// ReplicateNow makes every deferred replicate row due now (replicate_now,
// ENDOFTIME rows included, as in the original); it returns the count.
func (s *Store) ReplicateNow(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE file_to_replicate SET nexttry = ? WHERE nexttry > ?", now, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("meta: replicate now: %w", err)
	}
	return n, nil
}

func scanJob(row interface{ Scan(...any) error }, q Queue) (Job, error) {
	j := Job{Queue: q}
	var next int64
	var dev sql.NullInt64
	var arg sql.NullString
	if err := row.Scan(&j.FID, &next, &j.FailCount, &dev, &arg); err != nil {
		return Job{}, err
	}
	j.NextTry, j.FromDevID, j.Arg = unix(next), int(dev.Int64), arg.String
	return j, nil
}

// OldestDue returns the due row (nexttry <= now) that has waited longest:
// lowest nexttry, then lowest fid. ok is false when nothing is due. It feeds
// the replication-lag gauge: a row's NextTry says since when it has been due,
// except for the original's nexttry 0 ("due at once", what create_close
// writes), whose age the schema does not record; callers estimate that from
// how long the same fid stays at the head.
func (s *Store) OldestDue(ctx context.Context, q Queue) (j Job, now time.Time, ok bool, err error) {
	t, err := tableOf(q)
	if err != nil {
		return Job{}, time.Time{}, false, err
	}
	var n int64
	if err := s.readRow(ctx, "SELECT "+s.d.nowExpr()).Scan(&n); err != nil {
		return Job{}, time.Time{}, false, fmt.Errorf("meta: now: %w", err)
	}
	now = time.Unix(n, 0)
	j, err = scanJob(s.readRow(ctx, "SELECT "+t.cols+" FROM "+t.table+" WHERE nexttry <= ?"+t.where+
		" ORDER BY nexttry, fid LIMIT 1", n), q)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Job{}, now, false, nil
	case err != nil:
		return Job{}, now, false, fmt.Errorf("meta: oldest due in %s: %w", t.table, err)
	}
	return j, now, true, nil
}

// AdoptLegacyDeletes moves the delete queue of MogileFS before 2.x onto
// file_to_delete2, due at once, so the delete job drains it like any
// other delete and a database upgraded from an old MogileFS loses no
// pending delete: every file_to_delete row, and the file_to_delete_later
// rows whose delafter has come. Only the fids read are removed from the
// legacy tables, in the same transaction, a thousand at a time. It returns
// how many it moved.
func (s *Store) AdoptLegacyDeletes(ctx context.Context, now time.Time) (int64, error) {
	const batch = 1000
	var total int64
	for _, legacy := range []struct{ table, due string }{
		{"file_to_delete", ""},
		{"file_to_delete_later", " WHERE delafter <= ?"},
	} {
		for {
			var n int
			err := s.tx(ctx, func(tx *sql.Tx) error {
				n = 0
				var args []any
				if legacy.due != "" {
					args = append(args, now.Unix())
				}
				rows, err := tx.QueryContext(ctx, "SELECT fid FROM "+legacy.table+legacy.due+" ORDER BY fid LIMIT "+strconv.Itoa(batch), args...)
				if err != nil {
					return err
				}
				var fids []int64
				for rows.Next() {
					var fid int64
					if err := rows.Scan(&fid); err != nil {
						rows.Close()
						return err
					}
					fids = append(fids, fid)
				}
				if err := rows.Close(); err != nil {
					return err
				}
				for _, fid := range fids {
					if _, err := tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_to_delete2 (fid, nexttry, failcount) VALUES (?, 0, 0)", fid); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, "DELETE FROM "+legacy.table+" WHERE fid = ?", fid); err != nil {
						return err
					}
				}
				n = len(fids)
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("meta: adopt %s: %w", legacy.table, err)
			}
			total += int64(n)
			if n < batch {
				break
			}
		}
	}
	return total, nil
}
