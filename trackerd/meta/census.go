package meta

import (
	"context"
	"fmt"
)

// The census queries count whole tables, as the original mogstats does: on
// a large database each is a full scan (or index scan) and can take
// minutes, so they are for operators' tools, never for a request path.

// ClassFiles is how many files one class of one domain holds.
type ClassFiles struct {
	DomainID int
	ClassID  int
	Files    int64
	// Bytes is the sum of the files' lengths (one copy each) and Stored
	// the sum of length × devcount (every copy); both 0 unless asked for.
	Bytes, Stored int64
}

// FilesByClass counts the file table by (dmid, classid), in that order;
// with sizes it also sums the lengths (mogstats' "files" against its
// cheaper "domains").
func (s *Store) FilesByClass(ctx context.Context, sizes bool) ([]ClassFiles, error) {
	q := "SELECT dmid, classid, COUNT(*), 0, 0 FROM file GROUP BY dmid, classid ORDER BY dmid, classid"
	if sizes {
		q = `SELECT dmid, classid, COUNT(*), COALESCE(SUM(length),0), COALESCE(SUM(length * devcount),0)
			FROM file GROUP BY dmid, classid ORDER BY dmid, classid`
	}
	rows, err := s.read(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("meta: files by class: %w", err)
	}
	defer rows.Close()
	var out []ClassFiles
	for rows.Next() {
		var c ClassFiles
		if err := rows.Scan(&c.DomainID, &c.ClassID, &c.Files, &c.Bytes, &c.Stored); err != nil {
			return nil, fmt.Errorf("meta: files by class: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DevCountFiles is how many files of one class have one devcount.
type DevCountFiles struct {
	DomainID, ClassID, DevCount int
	Files                       int64
}

// FilesByDevCount counts the file table by (dmid, classid, devcount), in
// that order: files with too few copies (0 is lost), replication lag, or
// too many.
func (s *Store) FilesByDevCount(ctx context.Context) ([]DevCountFiles, error) {
	rows, err := s.read(ctx, `SELECT dmid, classid, devcount, COUNT(*) FROM file
		GROUP BY dmid, classid, devcount ORDER BY dmid, classid, devcount`)
	if err != nil {
		return nil, fmt.Errorf("meta: files by devcount: %w", err)
	}
	defer rows.Close()
	var out []DevCountFiles
	for rows.Next() {
		var c DevCountFiles
		if err := rows.Scan(&c.DomainID, &c.ClassID, &c.DevCount, &c.Files); err != nil {
			return nil, fmt.Errorf("meta: files by devcount: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FilesByDevice counts the file_on rows of each device. Devices without
// copies are absent; a devid without a device row is present.
func (s *Store) FilesByDevice(ctx context.Context) (map[int]int64, error) {
	rows, err := s.read(ctx, "SELECT devid, COUNT(*) FROM file_on GROUP BY devid")
	if err != nil {
		return nil, fmt.Errorf("meta: files by device: %w", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var devid int
		var n int64
		if err := rows.Scan(&devid, &n); err != nil {
			return nil, fmt.Errorf("meta: files by device: %w", err)
		}
		out[devid] = n
	}
	return out, rows.Err()
}

// NextTryRows is how many rows of a queue share one nexttry, as stored
// in unix seconds: 0 is a new row, 1 one to redo, EndOfTime one waiting for
// an admin, anything else the time it comes (or came) due.
type NextTryRows struct {
	NextTry int64
	Rows    int64
}

// QueueByNextTry counts q's rows by nexttry, in nexttry order.
func (s *Store) QueueByNextTry(ctx context.Context, q Queue) ([]NextTryRows, error) {
	t, err := tableOf(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.read(ctx, "SELECT nexttry, COUNT(*) FROM "+t.table+" WHERE 1=1"+t.where+
		" GROUP BY nexttry ORDER BY nexttry")
	if err != nil {
		return nil, fmt.Errorf("meta: %s by nexttry: %w", t.table, err)
	}
	defer rows.Close()
	var out []NextTryRows
	for rows.Next() {
		var r NextTryRows
		if err := rows.Scan(&r.NextTry, &r.Rows); err != nil {
			return nil, fmt.Errorf("meta: %s by nexttry: %w", t.table, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
