package meta

import (
	"context"
	"database/sql"
	"fmt"
)

// Hard links. A file's first name is its key, as for any MogileFS client;
// every other name is a mogfs_attr row whose linkkey is that key. The rows
// share the file's inode number; its attributes live in the key's own row.
// Listings find link rows like special files (dirkey = path), lookups
// follow linkkey to the file row. When the key itself is unlinked while
// other names remain, the first of them becomes the key (UnlinkName), so
// the data stays for as long as a name does. Stock clients see the key
// only; one that deletes it removes the data from under the other names,
// which then no longer resolve.

// Link makes path another name of the file at target (a key, or a name
// that is itself a link, resolved to its key). primary holds the
// attributes to record for the file when it has none yet (a key stored by
// a stock client): without a row there would be no inode number to share.
// It returns the key and the row of the file's attributes. ErrNotFound:
// no such file; ErrExists: path is taken.
func (s *Store) Link(ctx context.Context, dmid int, target, path string, primary Attr) (string, Attr, error) {
	var key string
	var pa Attr
	err := s.tx(ctx, func(tx *sql.Tx) error {
		key = target
		if a, err := scanAttr(tx.QueryRowContext(ctx, "SELECT "+attrCols+" FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, target)); err == nil && a.LinkKey != "" {
			key = a.LinkKey
		} else if err != nil && err != sql.ErrNoRows {
			return err
		}
		var fid int64
		if err := tx.QueryRowContext(ctx, "SELECT fid FROM file WHERE dmid = ? AND dkey = ?"+s.d.forUpdate(), dmid, key).Scan(&fid); err != nil {
			return noRows(err)
		}
		for _, q := range []string{"SELECT 1 FROM file WHERE dmid = ? AND dkey = ?", "SELECT 1 FROM mogfs_attr WHERE dmid = ? AND path = ?"} {
			if has, err := exists(ctx, tx, q, dmid, path); err != nil || has {
				return errOr(err, ErrExists)
			}
		}
		a, err := scanAttr(tx.QueryRowContext(ctx, "SELECT "+attrCols+" FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, key))
		switch {
		case err == sql.ErrNoRows:
			a = primary
		case err != nil:
			return err
		}
		if a.Ino == 0 {
			a.Ino = fid // the number the file showed so far
		}
		a.DomainID, a.Path, a.IsDir, a.LinkKey = dmid, key, false, ""
		if err := replaceAttr(ctx, tx, a); err != nil {
			return err
		}
		pa = a
		l := a
		l.Path, l.LinkKey = path, key
		return replaceAttr(ctx, tx, l)
	})
	if err != nil {
		return "", Attr{}, fmt.Errorf("meta: link %d/%q to %q: %w", dmid, path, target, err)
	}
	return key, pa, nil
}

// replaceAttr writes a whole mogfs_attr row in a transaction.
func replaceAttr(ctx context.Context, tx *sql.Tx, a Attr) error {
	_, err := tx.ExecContext(ctx, replaceAttrSQL, a.rowArgs()...)
	return err
}

// replaceAttrSQL writes a whole mogfs_attr row; its arguments are rowArgs.
const replaceAttrSQL = "REPLACE INTO mogfs_attr (" + attrCols + ", dirkey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// rowArgs are the values of replaceAttrSQL for a.
func (a Attr) rowArgs() []any {
	return []any{a.DomainID, a.Path, a.IsDir, a.Mode, a.UID, a.GID, unixNano(a.MTime), unixNano(a.CTime), unixNano(a.ATime),
		nullStr(a.Target), a.Ino, int64(a.Rdev), nullStr(a.LinkKey), a.listKey()}
}

// UnlinkResult says what UnlinkName removed.
type UnlinkResult struct {
	// FID is the file whose data was queued for deletion (its last name
	// went); 0 when none was.
	FID int64
	// Promoted is the link that became the file's key (the key was
	// removed while other names remained); "" otherwise.
	Promoted string
}

// UnlinkName removes one name: a hard link row; a key with no other names
// (with its data, as DeleteFile); a key with other names, whose first link
// becomes the key; or a special file's row. ErrNotFound when path names
// none of these.
func (s *Store) UnlinkName(ctx context.Context, dmid int, path string) (UnlinkResult, error) {
	var res UnlinkResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res = UnlinkResult{}
		a, aerr := scanAttr(tx.QueryRowContext(ctx, "SELECT "+attrCols+" FROM mogfs_attr WHERE dmid = ? AND path = ?"+s.d.forUpdate(), dmid, path))
		if aerr != nil && aerr != sql.ErrNoRows {
			return aerr
		}
		hasAttr := aerr == nil
		if hasAttr && a.LinkKey != "" {
			_, err := tx.ExecContext(ctx, "DELETE FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, path)
			return err
		}
		var fid int64
		err := tx.QueryRowContext(ctx, "SELECT fid FROM file WHERE dmid = ? AND dkey = ?"+s.d.forUpdate(), dmid, path).Scan(&fid)
		if err == sql.ErrNoRows {
			if hasAttr && a.IsSpecial() {
				_, err := tx.ExecContext(ctx, "DELETE FROM mogfs_attr WHERE dmid = ? AND path = ?", dmid, path)
				return err
			}
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var next string
		err = tx.QueryRowContext(ctx, "SELECT path FROM mogfs_attr WHERE dmid = ? AND linkkey = ? ORDER BY path LIMIT 1", dmid, path).Scan(&next)
		switch {
		case err == sql.ErrNoRows:
			res.FID = fid
			return s.deleteFileTx(ctx, tx, dmid, path, fid)
		case err != nil:
			return err
		}
		// The first other name becomes the key, with the attributes.
		res.Promoted = next
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"DELETE FROM mogfs_attr WHERE dmid = ? AND path = ?", []any{dmid, next}},
			{"UPDATE file SET dkey = ? WHERE fid = ?", []any{next, fid}},
			{"UPDATE mogfs_attr SET path = ?, dirkey = NULL WHERE dmid = ? AND path = ?", []any{next, dmid, path}},
			{"UPDATE mogfs_attr SET linkkey = ? WHERE dmid = ? AND linkkey = ?", []any{next, dmid, path}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return UnlinkResult{}, fmt.Errorf("meta: unlink %d/%q: %w", dmid, path, err)
	}
	if res.FID != 0 {
		s.fileChanged(res.FID)
	}
	return res, nil
}

// LinkCounts returns, for each of keys that has hard links, how many
// other names it has: one statement per 1,000 keys.
func (s *Store) LinkCounts(ctx context.Context, dmid int, keys []string) (map[string]int, error) {
	out := map[string]int{}
	err := s.queryIn(ctx, "SELECT linkkey, COUNT(*) FROM mogfs_attr WHERE dmid = ? AND linkkey IN", " GROUP BY linkkey", dmid, keys, func(rows *sql.Rows) error {
		var k string
		var n int
		err := rows.Scan(&k, &n)
		out[k] = n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta: link counts: %w", err)
	}
	return out, nil
}

// FilesByKeys reads the file rows of keys: one statement per 1,000.
func (s *Store) FilesByKeys(ctx context.Context, dmid int, keys []string) (map[string]File, error) {
	out := map[string]File{}
	err := s.queryIn(ctx, "SELECT "+fileCols+" FROM file WHERE dmid = ? AND dkey IN", "", dmid, keys, func(rows *sql.Rows) error {
		f, err := scanFile(rows)
		out[f.Key] = f
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta: files by keys: %w", err)
	}
	return out, nil
}
