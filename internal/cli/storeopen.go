package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/postgres"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// schemaStore is a store that can report its schema version.
type schemaStore interface {
	store.Store
	SchemaVersion(ctx context.Context) (current, latest int, err error)
}

// openStore opens the configured backend. A PostgreSQL DSN selects the
// scale backend; anything else is a SQLite file (the default lives in the
// data directory).
func (s *storeFlags) open(ctx context.Context, migrate bool) (schemaStore, string, error) {
	opts := store.Options{Migrate: migrate}
	dsn := s.db
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := postgres.Open(ctx, dsn, opts)
		if err != nil {
			return nil, "", fmt.Errorf("opening PostgreSQL store: %w", err)
		}
		return db, "postgres", nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		dir, err := s.dataDir()
		if err != nil {
			return nil, "", err
		}
		path = filepath.Join(dir, "setu.db")
	}
	db, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		return nil, "", fmt.Errorf("opening SQLite store %s: %w", path, err)
	}
	return db, "sqlite " + path, nil
}

// collection resolves a collection by alias or id, creating it (with the
// name as alias and title) when create is set and it does not exist.
func collection(ctx context.Context, st store.Store, name string, create bool) (store.Collection, error) {
	c, err := st.Collection(ctx, name)
	if err == nil || !create || !isNotFound(err) {
		return c, err
	}
	c = store.Collection{ID: newUUID(), Alias: name, Title: name,
		MediaTypes: []string{"application/stix+json;version=2.1"}}
	if err := st.CreateCollection(ctx, c); err != nil {
		if isExists(err) { // created concurrently
			return st.Collection(ctx, name)
		}
		return c, err
	}
	return st.Collection(ctx, name)
}

// nodeDB is the whole store a node runs on: objects, accounts, statuses,
// secrets.
type nodeDB interface {
	schemaStore
	store.Accounts
	store.Statuses
	store.Secrets
	store.Deleter
	store.Audit
	store.Groups
	store.Settings
}

// logAdmin records an administrative change made from the command line in
// the audit log; the actor is the operator at the console.
func logAdmin(ctx context.Context, db nodeDB, action string, objects ...string) error {
	rec := audit.Record{Actor: "cli", Org: account.NodeOrg, Action: action, Path: "cli", Objects: objects, Rule: "operator", Status: 0}
	if _, err := db.AppendAudit(ctx, []audit.Record{rec}); err != nil {
		return fmt.Errorf("the change was made but could not be recorded in the audit log: %w", err)
	}
	return nil
}

// withAccounts opens the store and runs f with it; errors are printed.
func withAccounts(ctx context.Context, e *env, sf *storeFlags, f func(nodeDB) error) int {
	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	db, ok := st.(nodeDB)
	if !ok {
		errorf(e, "this store does not support accounts")
		return 1
	}
	if err := f(db); err != nil {
		errorf(e, "%v", err)
		return 1
	}
	return 0
}
