package meta

import (
	"context"
	"database/sql"
	"fmt"
)

// AddFsckLog appends an fsck_log row; a zero UTime means the database's now.
func (s *Store) AddFsckLog(ctx context.Context, e FsckLogEntry) error {
	utime := "?"
	args := []any{e.UTime.Unix()}
	if e.UTime.IsZero() {
		utime, args = s.d.nowExpr(), nil
	}
	args = append(args, nullInt(e.FID), e.EvCode, nullInt(int64(e.DevID)))
	if _, err := s.exec(ctx, "INSERT INTO fsck_log (utime, fid, evcode, devid) VALUES ("+utime+", ?, ?, ?)", args...); err != nil {
		return fmt.Errorf("meta: add fsck log: %w", err)
	}
	return nil
}

// FsckLog returns up to limit fsck_log rows with logid > afterLogID, by logid.
func (s *Store) FsckLog(ctx context.Context, afterLogID int64, limit int) ([]FsckLogEntry, error) {
	rows, err := s.read(ctx, `SELECT logid, utime, fid, evcode, devid FROM fsck_log
		WHERE logid > ? ORDER BY logid LIMIT ?`, afterLogID, limit)
	if err != nil {
		return nil, fmt.Errorf("meta: fsck log: %w", err)
	}
	defer rows.Close()
	var out []FsckLogEntry
	for rows.Next() {
		var e FsckLogEntry
		var utime int64
		var fid, devid sql.NullInt64
		var ev sql.NullString
		if err := rows.Scan(&e.LogID, &utime, &fid, &ev, &devid); err != nil {
			return nil, fmt.Errorf("meta: fsck log: %w", err)
		}
		e.UTime, e.FID, e.EvCode, e.DevID = unix(utime), fid.Int64, ev.String, int(devid.Int64)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClearFsckLog empties fsck_log (TRUNCATE on MySQL, like fsck_clearlog).
func (s *Store) ClearFsckLog(ctx context.Context) error {
	if _, err := s.exec(ctx, s.d.clearTableSQL("fsck_log")); err != nil {
		return fmt.Errorf("meta: clear fsck log: %w", err)
	}
	return nil
}

// MaxFsckLogID returns MAX(fsck_log.logid), 0 when empty.
func (s *Store) MaxFsckLogID(ctx context.Context) (int64, error) {
	var n int64
	if err := s.readRow(ctx, "SELECT COALESCE(MAX(logid),0) FROM fsck_log").Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: max fsck logid: %w", err)
	}
	return n, nil
}
