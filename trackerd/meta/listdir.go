package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// A directory listing (mogfs_list) is a skip-scan: the direct children of
// prefix P are found by seeking through the (dmid, dkey) index one child at
// a time — a file's key, then past the whole sub-tree of a sub-directory
// ("P/name/..." ends before "P/name0", as '0' follows '/') — so a page costs
// one index seek per entry whatever lies below each sub-directory. The seeks
// run inside the database as one recursive query, so a page of 1,000
// entries is one statement, not 1,000 round trips to the driver. Explicit
// directories (mogfs_attr rows with isdir=1) are walked the same way through
// the (dmid, dirkey) index, whose dirkey is the path with a trailing "/":
// in that form they sort exactly where the keys below them would, so both
// walks go in the same order and merge without a sort.
//
// Both walks read the tables themselves, so keys stored by any client or
// tracker (a stock MogileFS tracker on the same database included) are
// listed; nothing has to be told about them.

// DirEntry is a direct child of a directory prefix.
type DirEntry struct {
	Name  string
	IsDir bool
	// Special is an entry of mogfs_attr alone: a fifo, socket or device
	// node (its mode says which).
	Special bool
	File    File // the file row of a file entry
}

// Pos is the entry's place in listing order and its cursor: the name, with
// a trailing "/" for a directory (the order of the keys it stands for).
func (e DirEntry) Pos() string {
	if e.IsDir {
		return e.Name + "/"
	}
	return e.Name
}

// ListDir returns up to limit direct children of directory prefix P ("" or
// ending in "/") of domain dmid, in Pos order, after cursor `after` (a Pos
// returned before as next; "" for the start). done reports the end of the
// listing; otherwise next is the cursor of the following page (never "":
// a page does not end with the child of empty name, key P itself, whose
// Pos is ""). A page may be empty but for next: its entries were all
// shadowed sub-directories. Cost, whatever the directory's size or depth:
// at most two statements over file (walkKeys), one over mogfs_attr
// (walkAttrs) and one to hide sub-directories shadowed by a key of the
// same name.
func (s *Store) ListDir(ctx context.Context, dmid int, P, after string, limit int) (ents []DirEntry, next string, done bool, err error) {
	if limit <= 0 {
		return nil, "", false, errors.New("meta: list dir: limit must be positive")
	}
	if P != "" && !strings.HasSuffix(P, "/") {
		P += "/"
	}
	// Where each walk starts. After a directory cursor "x/" the next
	// position is past its sub-tree ("x0"); after a file cursor "x" it is
	// the next key; with none it is P itself (key P is the child with the
	// empty name; directory P is not its own child, so dirkey > P).
	keyOp, keyFrom, dirOp, dirFrom := ">=", P, ">", P
	switch {
	case strings.HasSuffix(after, "/"):
		keyOp, keyFrom = ">=", P+strings.TrimSuffix(after, "/")+"0"
		dirOp, dirFrom = keyOp, keyFrom
	case after != "":
		keyOp, keyFrom, dirOp, dirFrom = ">", P+after, ">", P+after
	}
	hi, bounded := successor(P) // none for the root: every key is under ""
	files, keysDone, err := s.walkKeys(ctx, dmid, P, keyOp, keyFrom, hi, bounded, limit+1)
	if err != nil {
		return nil, "", false, fmt.Errorf("meta: list dir %d/%q: %w", dmid, P, err)
	}
	attrs, attrsDone, err := s.walkAttrs(ctx, dmid, P, dirOp, dirFrom, hi, bounded, limit+1)
	if err != nil {
		return nil, "", false, fmt.Errorf("meta: list dir %d/%q: %w", dmid, P, err)
	}
	// Each walk is complete up to its last position unless it ran out; the
	// page is what both know, in order, without duplicates (a key wins
	// over a row of mogfs_attr at the same position).
	bound, hasBound := "", false
	if !keysDone && len(files) > 0 {
		bound, hasBound = files[len(files)-1].Pos(), true
	}
	if !attrsDone && len(attrs) > 0 {
		if b := attrs[len(attrs)-1].Pos(); !hasBound || b < bound {
			bound, hasBound = b, true
		}
	}
	i, j := 0, 0
	for (len(ents) < limit || ents[len(ents)-1].Pos() == "") && (i < len(files) || j < len(attrs)) {
		var e DirEntry
		switch {
		case j >= len(attrs) || i < len(files) && files[i].Pos() < attrs[j].Pos():
			e = files[i]
			i++
		case i < len(files) && files[i].Pos() == attrs[j].Pos():
			e = files[i]
			i++
			j++
		default:
			e = attrs[j]
			j++
		}
		if hasBound && e.Pos() > bound {
			break
		}
		ents = append(ents, e)
	}
	done = !hasBound && i == len(files) && j == len(attrs)
	if !done {
		next = ents[len(ents)-1].Pos() // a page ends at limit or at the bound: never empty here
	}
	ents, err = s.dropShadowed(ctx, dmid, P, ents)
	return ents, next, done, err
}

// dropShadowed removes the sub-directories that have a key of the same
// name (key "a" beside keys "a/..."): the name is the file, as a lookup
// finds it, and a listing must not name it twice. One statement.
func (s *Store) dropShadowed(ctx context.Context, dmid int, P string, ents []DirEntry) ([]DirEntry, error) {
	var keys []string
	for _, e := range ents {
		if e.IsDir {
			keys = append(keys, P+e.Name)
		}
	}
	if len(keys) == 0 {
		return ents, nil
	}
	have := map[string]bool{}
	err := s.queryIn(ctx, "SELECT dkey FROM file WHERE dmid = ? AND dkey IN", "", dmid, keys, func(rows *sql.Rows) error {
		var k string
		err := rows.Scan(&k)
		have[k] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta: list dir: %w", err)
	}
	if len(have) == 0 {
		return ents, nil
	}
	out := ents[:0]
	for _, e := range ents {
		if !e.IsDir || !have[P+e.Name] {
			out = append(out, e)
		}
	}
	return out, nil
}

// walkKeys finds up to n entries from the first key `op from`; done
// reports that it ran out of keys under P. It reads keys in order with a
// plain range scan (about a microsecond a row) up to the first key of a
// sub-directory, and from past that sub-tree on with the recursive
// skip-scan (a seek a step, several times dearer): a directory of files is
// one cheap statement a page, one with sub-directories at most two, and a
// sub-directory of a million keys costs a page no more than one of one key.
func (s *Store) walkKeys(ctx context.Context, dmid int, P, op, from, hi string, bounded bool, n int) ([]DirEntry, bool, error) {
	q := "SELECT " + fileCols + " FROM file WHERE dmid = ? AND dkey " + op + " ?"
	args := []any{dmid, from}
	if bounded {
		q, args = q+" AND dkey < ?", append(args, hi)
	}
	rows, err := s.read(ctx, q+" ORDER BY dkey LIMIT ?", append(args, n)...)
	if err != nil {
		return nil, false, err
	}
	out := make([]DirEntry, 0, min(n, 1024))
	dir, hasDir, read := "", false, 0 // dir may be "": keys "P/" + "/..."
	for rows.Next() {
		read++
		f, err := scanFile(rows)
		if err != nil {
			rows.Close()
			return nil, false, err
		}
		e := keyEntry(P, f)
		out = append(out, e)
		if e.IsDir {
			dir, hasDir = e.Name, true
			break // the rest of this scan is probably inside its sub-tree
		}
	}
	rows.Close() // stops the scan early on SQLite
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if !hasDir || len(out) == n {
		return out, !hasDir && read < n, nil
	}
	more, done, err := s.skipKeys(ctx, dmid, P, ">=", P+dir+"0", hi, bounded, n-len(out))
	return append(out, more...), done, err
}

// skipWalk is the recursive statement both skip-scans share: up to n
// values of col in table under P, from the first one `op from`, then one
// index seek a step (past a sub-tree when the value has a "/" after P,
// else to the next value). It returns the WITH clause, which defines
// walk(k, n) in order of n, and its arguments.
func (s *Store) skipWalk(table, col string, dmid int, P, op, from, hi string, bounded bool, n int) (string, []any) {
	d := s.d
	plen := len(P)
	hiCond, hiArg := "", []any(nil)
	if bounded {
		hiCond, hiArg = " AND "+col+" < ?", []any{hi}
	}
	next := func(cond string) string {
		return "(SELECT " + col + " FROM " + table + " WHERE dmid = ? AND " + cond + hiCond + " ORDER BY " + col + " LIMIT 1)"
	}
	q := "WITH RECURSIVE walk(k, n) AS (SELECT " + next(col+" "+op+" ?") + ", 1 UNION ALL SELECT CASE WHEN " +
		d.slashAt("k", "?") + " > 0 THEN " + next(col+" >= "+d.pastDir("k")) +
		" ELSE " + next(col+" > k") + " END, n + 1 FROM walk WHERE k IS NOT NULL AND n < ?)"
	args := []any{dmid, from}
	args = append(args, hiArg...)
	args = append(args, plen+1, dmid, plen, plen+1)
	args = append(args, hiArg...)
	args = append(args, dmid)
	args = append(args, hiArg...)
	return q, append(args, n)
}

// skipKeys is the skip-scan over file: up to n entries from the first key
// `op from`, one index seek each inside one recursive statement.
func (s *Store) skipKeys(ctx context.Context, dmid int, P, op, from, hi string, bounded bool, n int) ([]DirEntry, bool, error) {
	q, args := s.skipWalk("file", "dkey", dmid, P, op, from, hi, bounded, n)
	q += " SELECT " + s.d.cteHint() + "f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount FROM walk" +
		" JOIN file f ON f.dmid = ? AND f.dkey = walk.k ORDER BY walk.n"
	args = append(args, dmid)
	rows, err := s.read(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := make([]DirEntry, 0, min(n, 1024))
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, keyEntry(P, f))
	}
	return out, len(out) < n, rows.Err()
}

// keyEntry is the child of P that key f.Key lies in: the file itself, or
// the sub-directory named by its first segment below P.
func keyEntry(P string, f File) DirEntry {
	rest := f.Key[min(len(P), len(f.Key)):]
	if name, _, isDir := strings.Cut(rest, "/"); isDir {
		return DirEntry{Name: name, IsDir: true}
	}
	return DirEntry{Name: rest, File: f}
}

// walkAttrs is the skip-scan over the entries of mogfs_attr under P: up to
// n direct sub-directories (a dirkey "P/name/" or, for a name that has only
// explicit directories below it, "P/name/.../") and special files (a
// dirkey "P/name", see Attr.listKey).
func (s *Store) walkAttrs(ctx context.Context, dmid int, P, op, from, hi string, bounded bool, n int) ([]DirEntry, bool, error) {
	plen := len(P)
	q, args := s.skipWalk("mogfs_attr", "dirkey", dmid, P, op, from, hi, bounded, n)
	q += " SELECT " + s.d.cteHint() + "k FROM walk WHERE k IS NOT NULL ORDER BY n"
	rows, err := s.read(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := make([]DirEntry, 0, min(n, 1024))
	for rows.Next() {
		var k sql.NullString
		if err := rows.Scan(&k); err != nil {
			return nil, false, err
		}
		rest := k.String[min(plen, len(k.String)):]
		name, _, isDir := strings.Cut(rest, "/")
		out = append(out, DirEntry{Name: name, IsDir: isDir, Special: !isDir})
	}
	return out, len(out) < n, rows.Err()
}

// DirKey is the dirkey column of a directory's attribute row: its path
// with a trailing "/", the position of the keys below it.
func DirKey(path string) string { return path + "/" }

// HasChildren reports whether anything lies under directory prefix P (a
// key or an explicit directory): two index probes, one row each at most.
func (s *Store) HasChildren(ctx context.Context, dmid int, P string) (bool, error) {
	if P != "" && !strings.HasSuffix(P, "/") {
		P += "/"
	}
	hi, bounded := successor(P)
	// A key P itself is the child with the empty name; the directory P
	// (dirkey P) is not its own child.
	for _, w := range []struct{ table, col, op string }{{"file", "dkey", ">="}, {"mogfs_attr", "dirkey", ">"}} {
		q, args := "SELECT 1 FROM "+w.table+" WHERE dmid = ? AND "+w.col+" "+w.op+" ?", []any{dmid, P}
		if bounded {
			q, args = q+" AND "+w.col+" < ?", append(args, hi)
		}
		var one int
		err := s.readRow(ctx, q+" ORDER BY "+w.col+" LIMIT 1", args...).Scan(&one)
		if err == nil {
			return true, nil
		}
		if err != sql.ErrNoRows {
			return false, fmt.Errorf("meta: children of %d/%q: %w", dmid, P, err)
		}
	}
	return false, nil
}
