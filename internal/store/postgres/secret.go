package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

var _ store.Secrets = (*DB)(nil)

// Secret returns the secret named name, creating it with create if absent.
// Instances starting together may all find it absent and all call create;
// the first insert to commit wins, the others' inserts do nothing, and every
// caller returns the value then stored, so the node has one secret. create
// runs outside any transaction (it may be slow: key generation, a
// certificate), and its error is returned as is, wrapped.
func (db *DB) Secret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	v, err := db.secret(ctx, name)
	if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	nv, err := create()
	if err != nil {
		return nil, fmt.Errorf("postgres: creating secret %s: %w", name, err)
	}
	if nv == nil {
		nv = []byte{}
	}
	if _, err := db.pool.Exec(ctx,
		`INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, nv); err != nil {
		return nil, fmt.Errorf("postgres: secret %s: %w", name, err)
	}
	// A separate statement: under READ COMMITTED it sees the winner's row
	// even when the insert above lost to a transaction that committed after
	// the insert's snapshot was taken.
	return db.secret(ctx, name)
}

func (db *DB) secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %s: %w", name, err)
	}
	return v, nil
}
