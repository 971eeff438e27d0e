package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

const fileCols = "fid, dmid, dkey, length, classid, devcount"

// FileByKey looks a key up (the get_paths query); ErrNotFound when absent.
func (s *Store) FileByKey(ctx context.Context, dmid int, key string) (File, error) {
	f, err := scanFile(s.readRow(ctx, "SELECT "+fileCols+" FROM file WHERE dmid = ? AND dkey = ?", dmid, key))
	if err != nil {
		return File{}, fmt.Errorf("meta: file %d/%q: %w", dmid, key, noRows(err))
	}
	return f, nil
}

// FileByFID reads the file row of a fid; ErrNotFound when absent.
func (s *Store) FileByFID(ctx context.Context, fid int64) (File, error) {
	f, err := scanFile(s.readRow(ctx, "SELECT "+fileCols+" FROM file WHERE fid = ?", fid))
	if err != nil {
		return File{}, fmt.Errorf("meta: fid %d: %w", fid, noRows(err))
	}
	return f, nil
}

// DeleteFile removes a key, queues its fid for deletion (nexttry now) and
// drops the key's mogfs_attr row; it returns the fid, or ErrNotFound.
func (s *Store) DeleteFile(ctx context.Context, dmid int, key string) (int64, error) {
	var fid int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT fid FROM file WHERE dmid = ? AND dkey = ?"+s.d.forUpdate(), dmid, key).Scan(&fid)
		if err != nil {
			return noRows(err)
		}
		return s.deleteFileTx(ctx, tx, dmid, key, fid)
	})
	if err != nil {
		return 0, fmt.Errorf("meta: delete %d/%q: %w", dmid, key, err)
	}
	s.fileChanged(fid)
	return fid, nil
}

// deleteFileTx removes key's file row (fid) and attributes and queues the
// fid for deletion, in tx.
func (s *Store) deleteFileTx(ctx context.Context, tx *sql.Tx, dmid int, key string, fid int64) error {
	now, err := s.now(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM file WHERE fid = ?", fid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM mogfs_attr WHERE dmid = ? AND path = ? AND isdir = 0", dmid, key); err != nil {
		return err
	}
	return s.enqueueDelete(ctx, tx, fid, now)
}

// RenameFile renames a key within its domain; ErrNotFound when `from` is
// absent, ErrExists when `to` is taken.
func (s *Store) RenameFile(ctx context.Context, dmid int, from, to string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if has, err := exists(ctx, tx, "SELECT 1 FROM file WHERE dmid = ? AND dkey = ?"+s.d.forUpdate(), dmid, to); err != nil || has {
			return errOr(err, ErrExists)
		}
		res, err := tx.ExecContext(ctx, "UPDATE file SET dkey = ? WHERE dmid = ? AND dkey = ?", to, dmid, from)
		if err != nil {
			return s.mapErr(err)
		}
		return mustAffect(res, "rename")
	})
	if err != nil {
		return fmt.Errorf("meta: rename %d/%q to %q: %w", dmid, from, to, err)
	}
	return nil
}

// ListKeys returns up to limit keys of the domain that start with prefix and
// sort strictly after `after`, in byte order. The prefix is a range
// (prefix <= dkey < successor(prefix)) rather than LIKE, which is exact for
// every byte on both dialects and uses the (dmid, dkey) index.
func (s *Store) ListKeys(ctx context.Context, dmid int, prefix, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	q, args := "SELECT dkey FROM file WHERE dmid = ?", []any{dmid}
	q, args = prefixRange(q, args, "dkey", prefix, after)
	rows, err := s.read(ctx, q+" ORDER BY dkey LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("meta: list keys: %w", err)
	}
	defer rows.Close()
	keys := make([]string, 0, min(limit, 1000))
	for rows.Next() {
		var k sql.NullString
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("meta: list keys: %w", err)
		}
		keys = append(keys, k.String)
	}
	return keys, rows.Err()
}

// prefixRange adds "col starts with prefix and col > after" conditions,
// with one lower bound only: the tighter of "col >= prefix" and "col >
// after" (keys compare as bytes on both dialects, as Go strings do). Given
// both, SQLite seeks the index on one of them, the prefix, and filters the
// other row by row, so a page of 100 keys after a cursor late in a big
// prefix read every key of the prefix before the cursor: 10 pages a second
// at a random point of a million keys under one prefix.
func prefixRange(q string, args []any, col, prefix, after string) (string, []any) {
	switch {
	case after != "" && after >= prefix:
		q += " AND " + col + " > ?"
		args = append(args, after)
	case prefix != "":
		q += " AND " + col + " >= ?"
		args = append(args, prefix)
	}
	if succ, ok := successor(prefix); ok && prefix != "" {
		q += " AND " + col + " < ?"
		args = append(args, succ)
	}
	return q, args
}

// successor returns the smallest string greater than every string with the
// prefix p (byte-wise): p with trailing 0xff bytes dropped and the last byte
// incremented. ok is false when there is none (p is all 0xff).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// ListFIDs returns up to limit files with fid > from, by fid.
func (s *Store) ListFIDs(ctx context.Context, from int64, limit int) ([]File, error) {
	rows, err := s.read(ctx, "SELECT "+fileCols+" FROM file WHERE fid > ? ORDER BY fid LIMIT ?", from, limit)
	if err != nil {
		return nil, fmt.Errorf("meta: list fids: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("meta: list fids: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SetFileClass changes a file's class and queues it for replication (the
// new class may want more copies); ErrNotFound for an unknown fid.
func (s *Store) SetFileClass(ctx context.Context, fid int64, classid int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE file SET classid = ? WHERE fid = ?", classid, fid)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "update"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.insertIgnore()+" INTO file_to_replicate (fid, nexttry) VALUES (?, 0)", fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("meta: set class of fid %d: %w", fid, err)
	}
	return nil
}

// CountFiles counts the files of a domain (classid < 0) or of one class.
func (s *Store) CountFiles(ctx context.Context, dmid, classid int) (int64, error) {
	q, args := "SELECT COUNT(*) FROM file WHERE dmid = ?", []any{dmid}
	if classid >= 0 {
		q, args = q+" AND classid = ?", append(args, classid)
	}
	var n int64
	if err := s.readRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: count files: %w", err)
	}
	return n, nil
}

// MaxFID returns MAX(file.fid), 0 for an empty namespace.
func (s *Store) MaxFID(ctx context.Context) (int64, error) {
	var n int64
	if err := s.readRow(ctx, "SELECT COALESCE(MAX(fid),0) FROM file").Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: max fid: %w", err)
	}
	return n, nil
}

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var f File
	var key sql.NullString
	var length sql.NullInt64
	if err := row.Scan(&f.FID, &f.DomainID, &key, &length, &f.ClassID, &f.DevCount); err != nil {
		return File{}, err
	}
	f.Key, f.Length = key.String, length.Int64
	return f, nil
}

// noRows maps sql.ErrNoRows to ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// FileAndDevIDs is FileByKey and FileDevIDs in one query, the get_paths
// lookup: one round trip instead of two. The devids come back as one
// GROUP_CONCAT column of a correlated subquery, which both dialects have;
// on SQLite that measured about 3x faster than the LEFT JOIN returning a
// row per copy. devids are ascending; ErrNotFound when the key is absent.
func (s *Store) FileAndDevIDs(ctx context.Context, dmid int, key string) (File, []int, error) {
	var f File
	var k, devs sql.NullString
	var length sql.NullInt64
	err := s.readRow(ctx, "SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount,"+
		" (SELECT GROUP_CONCAT(devid) FROM file_on WHERE fid = f.fid)"+
		" FROM file f WHERE f.dmid = ? AND f.dkey = ?", dmid, key).
		Scan(&f.FID, &f.DomainID, &k, &length, &f.ClassID, &f.DevCount, &devs)
	if err != nil {
		return File{}, nil, fmt.Errorf("meta: file %d/%q: %w", dmid, key, noRows(err))
	}
	f.Key, f.Length = k.String, length.Int64
	var ids []int
	for d := range strings.SplitSeq(devs.String, ",") {
		if d == "" {
			continue
		}
		id, err := strconv.Atoi(d)
		if err != nil {
			return File{}, nil, fmt.Errorf("meta: file %d/%q: devid %q: %w", dmid, key, d, err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // in Go: an ORDER BY would cost a sorter per lookup
	return f, ids, nil
}
