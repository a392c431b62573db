package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// CreateCollection creates c. Ids and aliases share one namespace, because
// Collection looks a collection up by either: ErrExists if c.ID or c.Alias
// equals any existing id or alias. A zero Created is set to the store's
// clock.
func (db *DB) CreateCollection(ctx context.Context, c store.Collection) error {
	if c.ID == "" {
		return errors.New("sqlite: create collection: empty id")
	}
	if c.Created.IsZero() {
		c.Created = db.now()
	}
	if c.MediaTypes == nil {
		c.MediaTypes = []string{}
	}
	media, err := json.Marshal(c.MediaTypes)
	if err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create collection", err)
	}
	defer tx.Rollback()
	names := []any{c.ID}
	if c.Alias != "" {
		names = append(names, c.Alias)
	}
	for _, name := range names {
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM collections WHERE id = ?1 OR alias = ?1`, name).Scan(&n); err != nil {
			return wrapErr("create collection", err)
		}
		if n > 0 {
			return fmt.Errorf("collection %q: %w", name, store.ErrExists)
		}
	}
	var alias any
	if c.Alias != "" {
		alias = c.Alias
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO collections (id, alias, title, description, media_types, created) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, alias, c.Title, c.Description, string(media), c.Created.UnixNano()); err != nil {
		return wrapErr("create collection", err)
	}
	return wrapErr("create collection", tx.Commit())
}

const collectionColumns = `id, coalesce(alias, ''), title, description, media_types, created`

func scanCollection(sc interface{ Scan(...any) error }) (store.Collection, error) {
	var (
		c       store.Collection
		media   string
		created int64
	)
	if err := sc.Scan(&c.ID, &c.Alias, &c.Title, &c.Description, &media, &created); err != nil {
		return store.Collection{}, err
	}
	if err := json.Unmarshal([]byte(media), &c.MediaTypes); err != nil {
		return store.Collection{}, fmt.Errorf("collection %s: media types: %w", c.ID, err)
	}
	c.Created = time.Unix(0, created).UTC()
	return c, nil
}

// Collection finds a collection by id or alias.
func (db *DB) Collection(ctx context.Context, idOrAlias string) (store.Collection, error) {
	c, err := scanCollection(db.r.QueryRowContext(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE id = ?1 OR alias = ?1`, idOrAlias))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Collection{}, fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	return c, wrapErr("collection", err)
}

// Collections lists collections in creation order.
func (db *DB) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+collectionColumns+` FROM collections ORDER BY pk`)
	if err != nil {
		return nil, wrapErr("collections", err)
	}
	defer rows.Close()
	var cs []store.Collection
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, wrapErr("collections", err)
		}
		cs = append(cs, c)
	}
	return cs, wrapErr("collections", rows.Err())
}

// collectionPK resolves a collection id or alias to its row key.
func collectionPK(ctx context.Context, q querier, idOrAlias string) (int64, error) {
	var pk int64
	err := q.QueryRowContext(ctx, `SELECT pk FROM collections WHERE id = ?1 OR alias = ?1`, idOrAlias).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	return pk, wrapErr("collection", err)
}
