package meta

import (
	"context"
	"database/sql"
	"fmt"
	"math"
)

// FileDevIDs returns the devices holding a copy of fid (file_on), ascending.
func (s *Store) FileDevIDs(ctx context.Context, fid int64) ([]int, error) {
	rows, err := s.read(ctx, "SELECT devid FROM file_on WHERE fid = ? ORDER BY devid", fid)
	if err != nil {
		return nil, fmt.Errorf("meta: devids of fid %d: %w", fid, err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("meta: devids of fid %d: %w", fid, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AddFileOn records a copy of fid on devid (idempotent) and recounts
// file.devcount.
func (s *Store) AddFileOn(ctx context.Context, fid int64, devid int) error {
	return s.changeFileOn(ctx, "add", s.d.insertIgnore()+" INTO file_on (fid, devid) VALUES (?, ?)", fid, devid)
}

// RemoveFileOn forgets the copy of fid on devid (absent is fine) and
// recounts file.devcount.
func (s *Store) RemoveFileOn(ctx context.Context, fid int64, devid int) error {
	return s.changeFileOn(ctx, "remove", "DELETE FROM file_on WHERE fid = ? AND devid = ?", fid, devid)
}

// changeFileOn runs the file_on change and the devcount recount in one
// transaction, so concurrent changes to one fid cannot leave a stale count
// (the original takes a per-fid lock for the same reason).
func (s *Store) changeFileOn(ctx context.Context, op, query string, fid int64, devid int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, query, fid, devid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE file SET devcount = (SELECT COUNT(*) FROM file_on WHERE fid = ?)
			WHERE fid = ?`, fid, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("meta: %s file_on %d/%d: %w", op, fid, devid, err)
	}
	s.fileChanged(fid)
	return nil
}

// FIDsOnDevice pages the fids with a copy on devid: up to limit, > after,
// ascending (drain, rebalance, reaper).
func (s *Store) FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error) {
	return s.fidsOnDevice(ctx, "SELECT fid FROM file_on WHERE devid = ? AND fid > ? ORDER BY fid LIMIT ?", devid, after, limit)
}

// FIDsOnDeviceNewest pages the fids with a copy on devid newest first: up
// to limit, < before (0: from the newest), descending (a rebalance with
// fid_age=new).
func (s *Store) FIDsOnDeviceNewest(ctx context.Context, devid int, before int64, limit int) ([]int64, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return s.fidsOnDevice(ctx, "SELECT fid FROM file_on WHERE devid = ? AND fid < ? ORDER BY fid DESC LIMIT ?", devid, before, limit)
}

func (s *Store) fidsOnDevice(ctx context.Context, query string, devid int, cursor int64, limit int) ([]int64, error) {
	rows, err := s.read(ctx, query, devid, cursor, limit)
	if err != nil {
		return nil, fmt.Errorf("meta: fids on device %d: %w", devid, err)
	}
	defer rows.Close()
	var fids []int64
	for rows.Next() {
		var fid int64
		if err := rows.Scan(&fid); err != nil {
			return nil, fmt.Errorf("meta: fids on device %d: %w", devid, err)
		}
		fids = append(fids, fid)
	}
	return fids, rows.Err()
}

// CountFileOn returns how many copies a device holds.
func (s *Store) CountFileOn(ctx context.Context, devid int) (int64, error) {
	var n int64
	if err := s.readRow(ctx, "SELECT COUNT(*) FROM file_on WHERE devid = ?", devid).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: count file_on of device %d: %w", devid, err)
	}
	return n, nil
}

// Checksum returns the stored digest of fid (raw bytes); ErrNotFound when
// there is none.
func (s *Store) Checksum(ctx context.Context, fid int64) (hashtype int, sum []byte, err error) {
	err = s.readRow(ctx, "SELECT hashtype, checksum FROM checksum WHERE fid = ?", fid).Scan(&hashtype, &sum)
	if err != nil {
		return 0, nil, fmt.Errorf("meta: checksum of fid %d: %w", fid, noRows(err))
	}
	return hashtype, sum, nil
}

// SetChecksum stores (replaces) the digest of fid.
func (s *Store) SetChecksum(ctx context.Context, fid int64, hashtype int, sum []byte) error {
	if _, err := s.exec(ctx, "REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)", fid, hashtype, sum); err != nil {
		return fmt.Errorf("meta: set checksum of fid %d: %w", fid, err)
	}
	return nil
}

// DeleteChecksum removes the digest of fid (absent is fine).
func (s *Store) DeleteChecksum(ctx context.Context, fid int64) error {
	if _, err := s.exec(ctx, "DELETE FROM checksum WHERE fid = ?", fid); err != nil {
		return fmt.Errorf("meta: delete checksum of fid %d: %w", fid, err)
	}
	return nil
}
