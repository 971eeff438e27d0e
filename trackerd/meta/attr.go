package meta

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

const attrCols = "dmid, path, isdir, mode, uid, gid, mtime, ctime, atime, target, ino, rdev, linkkey"

// GetAttr reads the attributes of a key or directory; ErrNotFound when none
// are recorded.
func (s *Store) GetAttr(ctx context.Context, dmid int, path string) (Attr, error) {
	a, err := scanAttr(s.readRow(ctx, "SELECT "+attrCols+" FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, path))
	if err != nil {
		return Attr{}, fmt.Errorf("meta: attr %d/%q: %w", dmid, path, noRows(err))
	}
	return a, nil
}

// SetAttr inserts or replaces the attributes of a.Path.
func (s *Store) SetAttr(ctx context.Context, a Attr) error {
	_, err := s.exec(ctx, replaceAttrSQL, a.rowArgs()...)
	if err != nil {
		return fmt.Errorf("meta: set attr %d/%q: %w", a.DomainID, a.Path, err)
	}
	return nil
}

// DeleteAttr forgets the attributes of one path (absent is fine).
func (s *Store) DeleteAttr(ctx context.Context, dmid int, path string) error {
	if _, err := s.exec(ctx, "DELETE FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, path); err != nil {
		return fmt.Errorf("meta: delete attr %d/%q: %w", dmid, path, err)
	}
	return nil
}

// RenameAttrs moves the attrs of `from` and of every path under `from/` to
// the same place under `to`, replacing attrs already recorded at the
// destination paths, in one transaction. `to` must not be under `from/`.
// existed reports whether `from` itself had a row (a special file or hard
// link, which is that row alone).
func (s *Store) RenameAttrs(ctx context.Context, dmid int, from, to string) (existed bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		existed = false
		q, args := "SELECT path, isdir, mode, COALESCE(linkkey, '') FROM mogfs_attr WHERE dmid = ?", []any{dmid}
		q, args = prefixRange(q, args, "path", from+"/", "")
		rows, err := tx.QueryContext(ctx, q+" OR dmid = ? AND path = ?"+s.d.forUpdate(), append(args, dmid, from)...)
		if err != nil {
			return err
		}
		var olds []Attr
		for rows.Next() {
			var a Attr
			if err := rows.Scan(&a.Path, &a.IsDir, &a.Mode, &a.LinkKey); err != nil {
				rows.Close()
				return err
			}
			olds = append(olds, a)
			existed = existed || a.Path == from
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Hard links to keys that move (from itself, or below it) follow.
		if _, err := tx.ExecContext(ctx, "UPDATE mogfs_attr SET linkkey = ? WHERE dmid = ? AND linkkey = ?", to, dmid, from); err != nil {
			return err
		}
		lq, largs := "SELECT path, linkkey FROM mogfs_attr WHERE dmid = ?", []any{dmid}
		lq, largs = prefixRange(lq, largs, "linkkey", from+"/", "")
		lrows, err := tx.QueryContext(ctx, lq, largs...)
		if err != nil {
			return err
		}
		var moved [][2]string
		for lrows.Next() {
			var p, lk string
			if err := lrows.Scan(&p, &lk); err != nil {
				lrows.Close()
				return err
			}
			moved = append(moved, [2]string{p, to + lk[len(from):]})
		}
		lrows.Close()
		if err := lrows.Err(); err != nil {
			return err
		}
		for _, m := range moved {
			if _, err := tx.ExecContext(ctx, "UPDATE mogfs_attr SET linkkey = ? WHERE dmid = ? AND path = ?", m[1], dmid, m[0]); err != nil {
				return err
			}
		}
		for _, a := range olds {
			p := a.Path
			a.Path = to + p[len(from):]
			if _, err := tx.ExecContext(ctx, "DELETE FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, a.Path); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE mogfs_attr SET path = ?, dirkey = ? WHERE dmid = ? AND path = ?", a.Path, a.listKey(), dmid, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("meta: rename attrs %d/%q to %q: %w", dmid, from, to, err)
	}
	return existed, nil
}

func scanAttr(row interface{ Scan(...any) error }) (Attr, error) {
	var a Attr
	var mt, ct, at int64
	var target, linkkey sql.NullString
	var rdev int64
	if err := row.Scan(&a.DomainID, &a.Path, &a.IsDir, &a.Mode, &a.UID, &a.GID, &mt, &ct, &at, &target, &a.Ino, &rdev, &linkkey); err != nil {
		return Attr{}, err
	}
	a.Rdev, a.LinkKey = uint64(rdev), linkkey.String
	a.MTime, a.CTime, a.ATime, a.Target = fromUnixNano(mt), fromUnixNano(ct), fromUnixNano(at), target.String
	return a, nil
}

// unixNano stores a time as unix nanoseconds, the zero time as 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// inBatch is how many values one queryIn statement carries: a page of
// 1,000 in one, well below SQLite's (32,766) and MySQL's (65,535)
// placeholder limits.
const inBatch = 1000

// queryIn runs q (a SELECT ending in "dmid = ? AND col IN", without the
// list, then tail) for the values in batches of inBatch, calling each for
// every row. Not through the statement cache: the text varies with the
// batch size.
func (s *Store) queryIn(ctx context.Context, q, tail string, dmid int, vals []string, each func(*sql.Rows) error) error {
	for len(vals) > 0 {
		n := min(len(vals), inBatch)
		args := make([]any, 0, n+1)
		args = append(args, dmid)
		for _, v := range vals[:n] {
			args = append(args, v)
		}
		s.queries.Add(1)
		rows, err := s.r.QueryContext(ctx, q+" (?"+strings.Repeat(",?", n-1)+")"+tail, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := each(rows); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// GetAttrs reads the attributes of several paths of a domain, a query per
// 1,000 paths; paths without a row are absent from the map.
func (s *Store) GetAttrs(ctx context.Context, dmid int, paths []string) (map[string]Attr, error) {
	out := make(map[string]Attr, len(paths))
	err := s.queryIn(ctx, "SELECT "+attrCols+" FROM mogfs_attr WHERE dmid = ? AND path IN", "", dmid, paths, func(rows *sql.Rows) error {
		a, err := scanAttr(rows)
		out[a.Path] = a
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta: get attrs: %w", err)
	}
	return out, nil
}
