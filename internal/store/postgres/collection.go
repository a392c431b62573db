package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/setu-cti/setu/internal/store"
)

// Ids and aliases share one namespace (Collection accepts either), so
// creating a collection checks both columns under a lock that serialises
// creators; unique constraints alone cannot see an alias equal to another
// collection's id.
const createLock = `SELECT pg_advisory_xact_lock(hashtextextended('setu.collections.' || current_schema(), 0))`

// CreateCollection creates c; store.ErrExists if its id or alias is already
// an id or alias of another collection. A zero Created is set to now.
func (db *DB) CreateCollection(ctx context.Context, c store.Collection) error {
	if c.ID == "" {
		return errors.New("postgres: collection id is empty")
	}
	if c.Created.IsZero() {
		c.Created = db.now()
	}
	created, err := toNS(c.Created)
	if err != nil {
		return fmt.Errorf("postgres: collection %s created: %w", c.ID, err)
	}
	var alias *string
	names := []string{c.ID}
	if c.Alias != "" {
		alias = &c.Alias
		names = append(names, c.Alias)
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createLock); err != nil {
			return fmt.Errorf("postgres: create collection: %w", err)
		}
		var taken bool
		err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM collections WHERE id = ANY($1) OR alias = ANY($1))`, names).Scan(&taken)
		if err != nil {
			return fmt.Errorf("postgres: create collection: %w", err)
		}
		if taken {
			return fmt.Errorf("collection %s: %w", c.ID, store.ErrExists)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO collections (id, alias, title, description, media_types, created)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, alias, c.Title, c.Description, c.MediaTypes, created)
		if err != nil {
			return fmt.Errorf("postgres: create collection: %w", err)
		}
		return nil
	})
}

const collectionColumns = `id, coalesce(alias, ''), title, description, media_types, created`

func scanCollection(row pgx.Row) (store.Collection, error) {
	var c store.Collection
	var created int64
	err := row.Scan(&c.ID, &c.Alias, &c.Title, &c.Description, &c.MediaTypes, &created)
	c.Created = fromNS(created)
	return c, err
}

// Collection finds a collection by id or alias; store.ErrNotFound if absent.
func (db *DB) Collection(ctx context.Context, idOrAlias string) (store.Collection, error) {
	c, err := scanCollection(db.pool.QueryRow(ctx,
		`SELECT `+collectionColumns+` FROM collections WHERE id = $1 OR alias = $1`, idOrAlias))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Collection{}, fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	if err != nil {
		return store.Collection{}, fmt.Errorf("postgres: collection %q: %w", idOrAlias, err)
	}
	return c, nil
}

// Collections lists all collections in creation order.
func (db *DB) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+collectionColumns+` FROM collections ORDER BY created, pk`)
	if err != nil {
		return nil, fmt.Errorf("postgres: collections: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Collection, error) { return scanCollection(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: collections: %w", err)
	}
	return cs, nil
}

// collectionKey resolves a collection id or alias to the integer key its
// rows carry; store.ErrNotFound if there is none.
func (db *DB) collectionKey(ctx context.Context, idOrAlias string) (int32, error) {
	if k, ok := db.collections.Load(idOrAlias); ok {
		return k.(int32), nil
	}
	var k int32
	err := db.pool.QueryRow(ctx, `SELECT pk FROM collections WHERE id = $1 OR alias = $1`, idOrAlias).Scan(&k)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: collection %q: %w", idOrAlias, err)
	}
	db.collections.Store(idOrAlias, k)
	return k, nil
}
