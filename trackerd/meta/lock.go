package meta

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// defaultLockTTL is the age after which the original treats a lock-table
// row as stale (Store/SQLite.pm).
const defaultLockTTL = time.Hour

// TryLock takes a named lock shared by every tracker on the database without
// waiting: ok is false when someone else holds it. The caller must call
// release when ok. Locks are not reentrant. On MySQL it is GET_LOCK on a
// dedicated connection (freed if the process dies; ttl unused); on SQLite it
// is a row in the lock table, which another taker may break when it is older
// than that taker's ttl (default 1 h) or its holder process on this host is
// dead. A Store from OpenReadOnly takes no lock: ErrReadOnly.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error) {
	if s.readOnly {
		return nil, false, ErrReadOnly
	}
	return s.d.tryLock(ctx, s, name, ttl)
}

// lockID is Store/SQLite.pm's lock table key: the first 4 bytes of
// MD5(name), big-endian, masked to 31 bits.
func lockID(name string) int64 {
	sum := md5.Sum([]byte(name))
	return int64(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
}

func (sqliteDialect) tryLock(ctx context.Context, s *Store, name string, ttl time.Duration) (func(), bool, error) {
	if ttl <= 0 {
		ttl = defaultLockTTL
	}
	ttlSec := max(int64(ttl/time.Second), 1)
	host, _ := os.Hostname()
	pid := int64(os.Getpid())
	id := lockID(name)
	var at int64
	var got bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now, err := s.now(ctx, tx)
		if err != nil {
			return err
		}
		var holder string
		var holderPID, holderAt int64
		err = tx.QueryRowContext(ctx, "SELECT hostname, pid, acquiredat FROM lock WHERE lockid = ?", id).
			Scan(&holder, &holderPID, &holderAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case holderAt > now-ttlSec && !(holder == host && holderPID != pid && !processAlive(holderPID)):
			got = false
			return nil
		default:
			s.log.Warn("breaking stale lock", "lock", name, "holder", holder, "pid", holderPID,
				"age_s", now-holderAt)
			if _, err := tx.ExecContext(ctx, "DELETE FROM lock WHERE lockid = ?", id); err != nil {
				return err
			}
		}
		at = now
		_, err = tx.ExecContext(ctx, "INSERT INTO lock (lockid, hostname, pid, acquiredat) VALUES (?, ?, ?, ?)",
			id, host, pid, now)
		got = err == nil
		return err
	})
	if err != nil || !got {
		return nil, false, errOrNil(err, "lock "+name)
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Only our row: if it went stale and someone took it over, the
		// row is theirs now.
		_, err := s.exec(ctx, "DELETE FROM lock WHERE lockid = ? AND hostname = ? AND pid = ? AND acquiredat = ?",
			id, host, pid, at)
		if err != nil {
			s.log.Warn("release lock", "lock", name, "err", err)
		}
	}
	return release, true, nil
}

// processAlive reports whether a process with that pid exists on this host.
func processAlive(pid int64) bool {
	err := syscall.Kill(int(pid), 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func errOrNil(err error, op string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("meta: %s: %w", op, err)
}
