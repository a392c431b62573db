package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestAudit(t *testing.T) {
	storetest.RunAudit(t, openTemp)
}

// rawTamper edits the database file through its own connection, as anyone
// with the file could.
type rawTamper struct{ db *sql.DB }

func (r rawTamper) exec(t testing.TB, query string, args ...any) error {
	t.Helper()
	_, err := r.db.ExecContext(context.Background(), query, args...)
	return err
}

func (r rawTamper) Set(t testing.TB, seq int64, column string, value any) error {
	if tm, ok := value.(time.Time); ok {
		value = tm.UnixMicro()
	}
	return r.exec(t, `UPDATE audit_log SET `+column+` = ? WHERE seq = ?`, value, seq)
}

func (r rawTamper) Delete(t testing.TB, seq int64) error {
	return r.exec(t, `DELETE FROM audit_log WHERE seq = ?`, seq)
}

func (r rawTamper) Renumber(t testing.TB, from, to int64) error {
	return r.exec(t, `UPDATE audit_log SET seq = ? WHERE seq = ?`, to, from)
}

func (r rawTamper) SetHead(t testing.TB, seq int64, hash [32]byte) error {
	return r.exec(t, `UPDATE audit_head SET seq = ?, hash = ?`, seq, hash[:])
}

func (r rawTamper) Unguard(t testing.TB) {
	t.Helper()
	for _, trg := range []string{"audit_log_no_update", "audit_log_no_delete"} {
		if err := r.exec(t, `DROP TRIGGER `+trg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) (store.Audit, storetest.AuditTamper) {
		path := filepath.Join(t.TempDir(), "setu.db")
		db, err := sqlite.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return db, rawTamper{raw}
	})
}

// TestAuditHeadGuard checks that the head row, without which a deleted
// last record would go unnoticed, cannot be deleted.
func TestAuditHeadGuard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "setu.db")
	db, err := sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM audit_head`); err == nil {
		t.Fatal("DELETE of the audit head succeeded")
	}
}
