package sqlite

import (
	"context"
	"fmt"
)

// Setting returns a node setting; store.ErrNotFound if never set.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	if err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("setting %s: %w", name, rowErr(err))
	}
	return v, nil
}

// SetSetting creates or replaces a node setting.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return wrapErr("setting "+name, err)
}
