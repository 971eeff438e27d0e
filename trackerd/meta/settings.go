package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings returns every server_settings row (schema_version included).
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.read(ctx, "SELECT field, value FROM server_settings")
	if err != nil {
		return nil, fmt.Errorf("meta: settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("meta: settings: %w", err)
		}
		out[k] = v.String
	}
	return out, rows.Err()
}

// Setting returns one setting; ok is false when it is not set.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var v sql.NullString
	err := s.readRow(ctx, "SELECT value FROM server_settings WHERE field = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("meta: setting %s: %w", key, err)
	}
	return v.String, true, nil
}

// SetSetting stores a value; an empty value deletes the row (the original
// deletes on NULL, and the wire cannot tell NULL from empty).
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	var err error
	if value == "" {
		_, err = s.exec(ctx, "DELETE FROM server_settings WHERE field = ?", key)
	} else {
		_, err = s.exec(ctx, "REPLACE INTO server_settings (field, value) VALUES (?, ?)", key, value)
	}
	if err != nil {
		return fmt.Errorf("meta: set setting %s: %w", key, err)
	}
	return nil
}
