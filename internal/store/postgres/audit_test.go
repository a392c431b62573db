package postgres

import (
	"context"
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestAudit(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}

// rawTamper edits the audit tables with plain SQL on the store's own pool,
// as anyone with write access to the database could.
type rawTamper struct{ db *DB }

func (r rawTamper) exec(query string, args ...any) error {
	_, err := r.db.pool.Exec(context.Background(), query, args...)
	return err
}

func (r rawTamper) Set(t testing.TB, seq int64, column string, value any) error {
	if column == "objects" {
		return r.exec(`UPDATE audit_log SET objects = $1::jsonb WHERE seq = $2`, value, seq)
	}
	return r.exec(`UPDATE audit_log SET `+column+` = $1 WHERE seq = $2`, value, seq)
}

func (r rawTamper) Delete(t testing.TB, seq int64) error {
	return r.exec(`DELETE FROM audit_log WHERE seq = $1`, seq)
}

func (r rawTamper) Renumber(t testing.TB, from, to int64) error {
	return r.exec(`UPDATE audit_log SET seq = $1 WHERE seq = $2`, to, from)
}

func (r rawTamper) SetHead(t testing.TB, seq int64, hash [32]byte) error {
	return r.exec(`UPDATE audit_head SET seq = $1, hash = $2`, seq, hash[:])
}

func (r rawTamper) Unguard(t testing.TB) {
	t.Helper()
	if err := r.exec(`ALTER TABLE audit_log DISABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
}

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) (store.Audit, storetest.AuditTamper) {
		db := openTest(t, testDSN(t), store.Options{})
		return db, rawTamper{db}
	})
}

// TestAuditHeadGuard checks that the head row, without which a deleted
// last record would go unnoticed, cannot be deleted or truncated away, nor
// the log truncated.
func TestAuditHeadGuard(t *testing.T) {
	db := openTest(t, testDSN(t), store.Options{})
	r := rawTamper{db}
	for _, q := range []string{`DELETE FROM audit_head`, `TRUNCATE audit_head`, `TRUNCATE audit_log`} {
		if err := r.exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
}
