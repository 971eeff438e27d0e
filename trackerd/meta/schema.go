package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// SchemaVersion is the MogileFS schema version this store creates and
// serves (Store.pm::SCHEMA_VERSION in 2.73).
const SchemaVersion = 17

// initSchema creates missing tables, upgrades old layouts and records
// schema_version, refusing databases of a newer server before touching them.
func (s *Store) initSchema(ctx context.Context) error {
	old, found, err := s.storedVersion(ctx)
	if err != nil {
		return err
	}
	if found && old > SchemaVersion {
		return fmt.Errorf("%w: database has %d, this server knows up to %d", ErrSchemaVersion, old, SchemaVersion)
	}
	for _, q := range s.d.schema() {
		if _, err := s.exec(ctx, q); err != nil {
			return fmt.Errorf("meta: create schema: %w\n%s", err, q)
		}
	}
	if err := s.d.upgrade(ctx, s.w); err != nil {
		return err
	}
	if found && old == SchemaVersion {
		return nil
	}
	if found {
		s.log.Info("upgraded schema", "from", old, "to", SchemaVersion)
	}
	// A concurrent Open of another tracker writes the same value.
	_, err = s.exec(ctx, "REPLACE INTO server_settings (field, value) VALUES ('schema_version', ?)",
		strconv.Itoa(SchemaVersion))
	if err != nil {
		return fmt.Errorf("meta: record schema version: %w", err)
	}
	return nil
}

// storedVersion reads server_settings(schema_version); found is false on a
// fresh database (no table or no row).
func (s *Store) storedVersion(ctx context.Context) (v int, found bool, err error) {
	var exists int
	if err := s.r.QueryRowContext(ctx, s.d.tableExistsSQL(), "server_settings").Scan(&exists); err != nil {
		return 0, false, fmt.Errorf("meta: schema version: %w", err)
	}
	if exists == 0 {
		return 0, false, nil
	}
	var raw sql.NullString
	err = s.r.QueryRowContext(ctx, "SELECT value FROM server_settings WHERE field = 'schema_version'").Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !raw.Valid {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("meta: schema version: %w", err)
	}
	v, err = strconv.Atoi(raw.String)
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("%w: unknown schema_version %q", ErrSchemaVersion, raw.String)
	}
	return v, true, nil
}
