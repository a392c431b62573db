package sqlite

import (
	"context"
	"fmt"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Secrets = (*DB)(nil)

// Secret returns the secret named name, creating it with create if absent.
// create runs outside any transaction; when several callers create at once,
// the first insert wins and every caller returns the stored value.
func (db *DB) Secret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := db.w.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if rowErr(err) != store.ErrNotFound {
		return nil, wrapErr("secret "+name, err)
	}
	nv, err := create()
	if err != nil {
		return nil, fmt.Errorf("sqlite: create secret %s: %w", name, err)
	}
	if err := db.w.QueryRowContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = value RETURNING value`, name, nv).Scan(&v); err != nil {
		return nil, wrapErr("secret "+name, err)
	}
	return v, nil
}
