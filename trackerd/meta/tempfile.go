package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RegisterTempFile inserts the tempfile row of a create_open and returns its
// fid (metadata-schema.md §3). An auto fid comes from the tempfile
// auto-increment; if that counter was reset below the fids already in use
// (InnoDB restarts, a restored dump), it is re-seeded past MAX(file.fid) by a
// dummy row inserted and deleted in the same transaction (the original
// leaves the dummy for the stale-tempfile reaper; deleting it at once is
// equivalent because neither AUTOINCREMENT nor AUTO_INCREMENT go back down).
func (s *Store) RegisterTempFile(ctx context.Context, t TempFile) (int64, error) {
	var fid int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ctx := s.stmtCtx(ctx)
		created := t.CreateTime.Unix()
		if t.CreateTime.IsZero() {
			var err error
			if created, err = s.now(ctx, tx); err != nil {
				return err
			}
		}
		args := []any{t.DomainID, t.Key, t.ClassID, joinDevIDs(t.DevIDs), created}
		if t.FID != 0 {
			if t.FID <= s.minFID {
				return ErrFIDInUse
			}
			if has, err := exists(ctx, tx, "SELECT 1 FROM file WHERE fid = ?", t.FID); err != nil || has {
				return errOr(err, ErrFIDInUse)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO tempfile (dmid, dkey, classid, devids, createtime, fid)
				VALUES (?, ?, ?, ?, ?, ?)`, append(args, t.FID)...)
			if s.d.isDup(err) {
				return ErrFIDInUse
			}
			fid = t.FID
			return err
		}
		for range 3 {
			res, err := tx.ExecContext(ctx, `INSERT INTO tempfile (dmid, dkey, classid, devids, createtime)
				VALUES (?, ?, ?, ?, ?)`, args...)
			if err != nil {
				return err
			}
			if fid, err = res.LastInsertId(); err != nil {
				return err
			}
			used, err := exists(ctx, tx, "SELECT 1 FROM file WHERE fid = ?", fid)
			if err != nil {
				return err
			}
			if fid > s.minFID && !used {
				return nil
			}
			if err := s.reseedFID(ctx, tx, fid, created); err != nil {
				return err
			}
		}
		return fmt.Errorf("meta: fid counter stays at %d, below MAX(file.fid)", fid)
	})
	if err != nil {
		return 0, fmt.Errorf("meta: register tempfile: %w", err)
	}
	return fid, nil
}

// reseedFID drops the just-inserted row `bad` and pushes the tempfile
// counter to at least MAX(file.fid).
func (s *Store) reseedFID(ctx context.Context, tx *sql.Tx, bad, created int64) error {
	s.log.Warn("re-seeding the fid counter", "fid", bad, "min_fid", s.minFID)
	if _, err := tx.ExecContext(ctx, "DELETE FROM tempfile WHERE fid = ?", bad); err != nil {
		return err
	}
	var seed int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(fid),0) FROM file").Scan(&seed); err != nil {
		return err
	}
	seed = max(seed, s.minFID, bad)
	res, err := tx.ExecContext(ctx, s.d.insertIgnore()+` INTO tempfile (fid, dmid, dkey, classid, devids, createtime)
		VALUES (?, 0, '_server_fid_reseed', 0, '', ?)`, seed, created)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		_, err = tx.ExecContext(ctx, "DELETE FROM tempfile WHERE fid = ?", seed)
	}
	return err
}

// TempFile reads one tempfile row; ErrNotFound when absent.
func (s *Store) TempFile(ctx context.Context, fid int64) (TempFile, error) {
	t, err := scanTempFile(s.readRow(ctx,
		"SELECT fid, dmid, dkey, classid, devids, createtime FROM tempfile WHERE fid = ?", fid))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return TempFile{}, fmt.Errorf("meta: tempfile %d: %w", fid, err)
	}
	return t, nil
}

// StaleTempFiles returns up to limit tempfile rows created before `before`,
// by fid.
func (s *Store) StaleTempFiles(ctx context.Context, before time.Time, limit int) ([]TempFile, error) {
	rows, err := s.read(ctx, `SELECT fid, dmid, dkey, classid, devids, createtime FROM tempfile
		WHERE createtime < ? ORDER BY fid LIMIT ?`, before.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("meta: stale tempfiles: %w", err)
	}
	defer rows.Close()
	var out []TempFile
	for rows.Next() {
		t, err := scanTempFile(rows)
		if err != nil {
			return nil, fmt.Errorf("meta: stale tempfiles: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTempFile removes a tempfile row (absent is not an error).
func (s *Store) DeleteTempFile(ctx context.Context, fid int64) error {
	if _, err := s.exec(ctx, "DELETE FROM tempfile WHERE fid = ?", fid); err != nil {
		return fmt.Errorf("meta: delete tempfile %d: %w", fid, err)
	}
	return nil
}

// CloseFile commits a create_close in one transaction: deletes the
// tempfile row (ErrNoTempFile if none), replaces an existing file with the
// same (dmid, key) by queueing the old fid for deletion, inserts file_on,
// replaces the file row with devcount 1, stores the checksum if given, and
// queues the fid for replication (nexttry 0). It returns the old fid
// replaced (0 if none).
func (s *Store) CloseFile(ctx context.Context, a CloseArgs) (oldFID int64, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		ctx := s.stmtCtx(ctx)
		oldFID = 0
		res, err := tx.ExecContext(ctx, "DELETE FROM tempfile WHERE fid = ?", a.FID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errOr(err, ErrNoTempFile)
		}
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		// FOR UPDATE: a concurrent close of the same key must not slip in
		// between this read and the REPLACE below, or its fid would be
		// replaced without being queued for deletion (leaked on disk).
		err = tx.QueryRowContext(ctx, "SELECT fid FROM file WHERE dmid = ? AND dkey = ?"+s.d.forUpdate(),
			a.DomainID, a.Key).Scan(&oldFID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if oldFID == a.FID {
			oldFID = 0
		}
		if oldFID != 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM file WHERE fid = ?", oldFID); err != nil {
				return err
			}
			if err := s.enqueueDelete(ctx, tx, oldFID, now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_on (fid, devid) VALUES (?, ?)", a.FID, a.DevID); err != nil {
			return err
		}
		if a.HashType != 0 {
			if _, err := tx.ExecContext(ctx, "REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)",
				a.FID, a.HashType, a.Checksum); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `REPLACE INTO file (fid, dmid, dkey, length, classid, devcount)
			VALUES (?, ?, ?, ?, ?, 1)`, a.FID, a.DomainID, a.Key, a.Length, a.ClassID); err != nil {
			return err
		}
		if at := a.Attr; at != nil {
			// A key's attributes: not walked by listings (no dirkey).
			if _, err := tx.ExecContext(ctx, "REPLACE INTO mogfs_attr ("+attrCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
				a.DomainID, a.Key, at.IsDir, at.Mode, at.UID, at.GID, unixNano(at.MTime), unixNano(at.CTime),
				unixNano(at.ATime), nullStr(at.Target), at.Ino, 0); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_to_replicate (fid, nexttry) VALUES (?, 0)", a.FID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("meta: close fid %d: %w", a.FID, err)
	}
	s.fileChanged(oldFID)
	return oldFID, nil
}

// AbandonTempFile drops an upload that will not become a file: the tempfile
// row goes, and the fid is queued for deletion with a file_on row for devid
// (when non-zero) so the delete worker removes whatever the client wrote.
func (s *Store) AbandonTempFile(ctx context.Context, fid int64, devid int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM tempfile WHERE fid = ?", fid); err != nil {
			return err
		}
		if devid != 0 {
			if _, err := tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_on (fid, devid) VALUES (?, ?)", fid, devid); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM file WHERE fid = ?", fid); err != nil {
			return err
		}
		return s.enqueueDelete(ctx, tx, fid, now)
	})
	if err != nil {
		return fmt.Errorf("meta: abandon fid %d: %w", fid, err)
	}
	return nil
}

func (s *Store) enqueueDelete(ctx context.Context, tx *sql.Tx, fid, now int64) error {
	_, err := tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_to_delete2 (fid, nexttry) VALUES (?, ?)", fid, now)
	return err
}

func scanTempFile(row interface{ Scan(...any) error }) (TempFile, error) {
	var t TempFile
	var key, devids sql.NullString
	var created int64
	if err := row.Scan(&t.FID, &t.DomainID, &key, &t.ClassID, &devids, &created); err != nil {
		return TempFile{}, err
	}
	t.Key, t.DevIDs, t.CreateTime = key.String, splitDevIDs(devids.String), time.Unix(created, 0)
	return t, nil
}

// maxDevIDsLen is the width of tempfile.devids (VARCHAR(60)).
const maxDevIDsLen = 60

// joinDevIDs renders tempfile.devids ("3,1,5"), dropping trailing devids
// that would not fit the column (strict MySQL would reject the row; the
// list only tells the stale-tempfile reaper where to look).
func joinDevIDs(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		p := strconv.Itoa(id)
		if b.Len() > 0 {
			p = "," + p
		}
		if b.Len()+len(p) > maxDevIDsLen {
			break
		}
		b.WriteString(p)
	}
	return b.String()
}

// splitDevIDs parses tempfile.devids, skipping anything that is not a number.
func splitDevIDs(s string) []int {
	var ids []int
	for p := range strings.SplitSeq(s, ",") {
		if id, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
