package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Domains returns every domain, by dmid.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.read(ctx, "SELECT dmid, namespace FROM domain ORDER BY dmid")
	if err != nil {
		return nil, fmt.Errorf("meta: domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		var name sql.NullString
		if err := rows.Scan(&d.ID, &name); err != nil {
			return nil, fmt.Errorf("meta: domains: %w", err)
		}
		d.Name = name.String
		out = append(out, d)
	}
	return out, rows.Err()
}

// CreateDomain adds a domain with dmid = MAX(dmid)+1; ErrExists if the name
// is taken.
func (s *Store) CreateDomain(ctx context.Context, name string) (Domain, error) {
	d := Domain{Name: name}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM domain WHERE namespace = ?"+s.d.forUpdate(), name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(dmid),0)+1 FROM domain"+s.d.forUpdate()).Scan(&d.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO domain (dmid, namespace) VALUES (?, ?)", d.ID, name)
		return s.mapErr(err)
	})
	if err != nil {
		return Domain{}, fmt.Errorf("meta: create domain %q: %w", name, err)
	}
	return d, nil
}

// DeleteDomain removes an empty domain and its default-class row (and any
// mogfs_attr rows, so a later domain reusing the dmid starts clean).
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var dmid int
		err := tx.QueryRowContext(ctx, "SELECT dmid FROM domain WHERE namespace = ?"+s.d.forUpdate(), name).Scan(&dmid)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if has, err := exists(ctx, tx, "SELECT 1 FROM file WHERE dmid = ? LIMIT 1", dmid); err != nil || has {
			return errOr(err, ErrDomainHasFiles)
		}
		if has, err := exists(ctx, tx, "SELECT 1 FROM class WHERE dmid = ? AND classid <> 0 LIMIT 1", dmid); err != nil || has {
			return errOr(err, ErrDomainHasClasses)
		}
		for _, q := range []string{
			"DELETE FROM class WHERE dmid = ?",
			"DELETE FROM mogfs_attr WHERE dmid = ?",
			"DELETE FROM domain WHERE dmid = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, dmid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("meta: delete domain %q: %w", name, err)
	}
	return nil
}

// Classes returns every class row of every domain, by (dmid, classid). The
// implicit default class (classid 0) appears only if it has a row.
func (s *Store) Classes(ctx context.Context) ([]Class, error) {
	rows, err := s.read(ctx,
		"SELECT dmid, classid, classname, mindevcount, replpolicy, hashtype FROM class ORDER BY dmid, classid")
	if err != nil {
		return nil, fmt.Errorf("meta: classes: %w", err)
	}
	defer rows.Close()
	var out []Class
	for rows.Next() {
		var c Class
		var name, policy sql.NullString
		var hash sql.NullInt64
		if err := rows.Scan(&c.DomainID, &c.ID, &name, &c.MinDevCount, &policy, &hash); err != nil {
			return nil, fmt.Errorf("meta: classes: %w", err)
		}
		c.Name, c.ReplPolicy, c.HashType = name.String, policy.String, int(hash.Int64)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateClass adds a class with classid MAX+1 in its domain (0 for
// "default"); ErrNotFound if the domain does not exist, ErrExists if the
// name is taken.
func (s *Store) CreateClass(ctx context.Context, c Class) (Class, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if has, err := exists(ctx, tx, "SELECT 1 FROM domain WHERE dmid = ?", c.DomainID); err != nil || !has {
			return errOr(err, ErrNotFound)
		}
		if has, err := exists(ctx, tx, "SELECT 1 FROM class WHERE dmid = ? AND classname = ?"+s.d.forUpdate(), c.DomainID, c.Name); err != nil || has {
			return errOr(err, ErrExists)
		}
		c.ID = 0
		if c.Name != "default" {
			err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(classid),0)+1 FROM class WHERE dmid = ?"+s.d.forUpdate(),
				c.DomainID).Scan(&c.ID)
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype)
			VALUES (?, ?, ?, ?, ?, ?)`, c.DomainID, c.ID, c.Name, c.MinDevCount, nullStr(c.ReplPolicy), nullInt(int64(c.HashType)))
		return s.mapErr(err)
	})
	if err != nil {
		return Class{}, fmt.Errorf("meta: create class %d/%q: %w", c.DomainID, c.Name, err)
	}
	return c, nil
}

// UpdateClass writes mindevcount, replpolicy and hashtype of the class named
// c.Name in c.DomainID. Updating "default" without a row creates the row
// (classid 0). ErrNotFound when the class does not exist.
func (s *Store) UpdateClass(ctx context.Context, c Class) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE class SET mindevcount = ?, replpolicy = ?, hashtype = ?
			WHERE dmid = ? AND classname = ?`,
			c.MinDevCount, nullStr(c.ReplPolicy), nullInt(int64(c.HashType)), c.DomainID, c.Name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		if c.Name != "default" {
			return ErrNotFound
		}
		if has, err := exists(ctx, tx, "SELECT 1 FROM domain WHERE dmid = ?", c.DomainID); err != nil || !has {
			return errOr(err, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype)
			VALUES (?, 0, 'default', ?, ?, ?)`, c.DomainID, c.MinDevCount, nullStr(c.ReplPolicy), nullInt(int64(c.HashType)))
		return s.mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("meta: update class %d/%q: %w", c.DomainID, c.Name, err)
	}
	return nil
}

// DeleteClass removes a class that no file uses.
func (s *Store) DeleteClass(ctx context.Context, dmid int, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var classid int
		err := tx.QueryRowContext(ctx, "SELECT classid FROM class WHERE dmid = ? AND classname = ?"+s.d.forUpdate(),
			dmid, name).Scan(&classid)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if has, err := exists(ctx, tx, "SELECT 1 FROM file WHERE dmid = ? AND classid = ? LIMIT 1", dmid, classid); err != nil || has {
			return errOr(err, ErrClassHasFiles)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM class WHERE dmid = ? AND classid = ?", dmid, classid)
		return err
	})
	if err != nil {
		return fmt.Errorf("meta: delete class %d/%q: %w", dmid, name, err)
	}
	return nil
}

// exists reports whether a query returns a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// errOr returns err if set, else the sentinel.
func errOr(err, sentinel error) error {
	if err != nil {
		return err
	}
	return sentinel
}
