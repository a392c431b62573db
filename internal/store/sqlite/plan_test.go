package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// TestQueryPlans checks that every statement on the read and write paths is
// driven by the index its cost depends on: each plan must contain the
// expected search steps, and none may scan a whole table or sort a range
// (a sort reads every matching row before returning the first). Only the
// IDs query sorts, and it sorts just the ids' versions.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const (
		byID      = "versions_id_vtime (id=?)"
		rowOfVer  = "SEARCH r USING INDEX collection_rows_version (collection=? AND version_pk=?"
		verOfRow  = "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)"
		rangeAll  = "SEARCH r USING PRIMARY KEY (collection=? AND seq>?)"
		rangeLast = "SEARCH r USING INDEX collection_rows_last (collection=? AND seq>?)"
		rangeType = "SEARCH r USING INDEX collection_rows_type (collection=? AND type=? AND seq>?)"
		// An audience scan: each key's range of the audience primary key,
		// merged (for several keys) in a co-routine, then each candidate's
		// row and version by key.
		rangeKey = "SEARCH audience USING PRIMARY KEY (collection=? AND key=? AND seq>?)"
		merged   = "MERGE (UNION)"
		rowOfSeq = "SEARCH r USING PRIMARY KEY (collection=? AND seq=?)"
		keyOfRow = "USING PRIMARY KEY (collection=? AND key=? AND seq=?)"
	)
	at := []time.Time{time.Unix(1, 0)}
	var manyKeys []string
	for i := range maxScanKeys + 3 {
		manyKeys = append(manyKeys, fmt.Sprintf("group:%d", i))
	}
	for _, tc := range []struct {
		name string
		q    store.Query
		want [][]string // per scan
	}{
		{"last", store.Query{}, [][]string{{rangeLast, verOfRow}}},
		{"all", store.Query{Versions: store.VersionFilter{All: true}}, [][]string{{rangeAll, verOfRow}}},
		{"first", store.Query{Versions: store.VersionFilter{First: true}}, [][]string{{rangeAll, verOfRow}}},
		{"last and at", store.Query{Versions: store.VersionFilter{Last: true, At: at}}, [][]string{{rangeLast, verOfRow}, {rangeAll, verOfRow}}},
		{"type", store.Query{Types: []string{"indicator"}}, [][]string{{rangeType, verOfRow}}},
		{"types all", store.Query{Types: []string{"indicator", "malware"}, Versions: store.VersionFilter{All: true}}, [][]string{{rangeType, verOfRow}, {rangeType, verOfRow}}},
		{"type first", store.Query{Types: []string{"indicator"}, Versions: store.VersionFilter{First: true}}, [][]string{{rangeType, verOfRow}}},
		{"spec", store.Query{SpecVersions: []string{"2.1"}}, [][]string{{rangeLast, verOfRow}}},
		{"ids", store.Query{IDs: []string{"indicator--1", "indicator--2"}, Types: []string{"indicator"}}, [][]string{{byID, rowOfVer}}},
		{"ids all", store.Query{IDs: []string{"indicator--1"}, Versions: store.VersionFilter{All: true}}, [][]string{{byID, rowOfVer}}},
		{"audience one key", store.Query{ReaderKeys: []string{"node"}}, [][]string{{rangeKey, rowOfSeq, verOfRow}}},
		{"audience keys", store.Query{ReaderKeys: []string{"node", "org:a", "user:u", "org:a"}}, [][]string{{merged, rangeKey, rowOfSeq, verOfRow}}},
		{"audience filtered", store.Query{ReaderKeys: []string{"node", "org:a"}, Types: []string{"indicator", "malware"},
			SpecVersions: []string{"2.1"}, Versions: store.VersionFilter{First: true, At: at}}, [][]string{{merged, rangeKey, rowOfSeq, verOfRow}}},
		{"audience many keys", store.Query{ReaderKeys: manyKeys, Versions: store.VersionFilter{All: true}},
			[][]string{{merged, rangeKey, rowOfSeq, verOfRow}, {merged, rangeKey, rowOfSeq, verOfRow}}},
		{"audience ids", store.Query{IDs: []string{"indicator--1"}, ReaderKeys: []string{"node", "org:a"}}, [][]string{{byID, rowOfVer, keyOfRow}}},
		{"audience empty", store.Query{ReaderKeys: []string{}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 10
			scans := planScans(tc.q, 1, 0)
			if len(scans) != len(tc.want) {
				t.Fatalf("%d scans, want %d", len(scans), len(tc.want))
			}
			for i, s := range scans {
				checkPlan(t, db, s.sql, s.args, len(tc.q.IDs) > 0, tc.want[i]...)
			}
		})
	}
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      string
	}{
		{"added after", `SELECT seq FROM collection_rows WHERE date_added > ? ORDER BY date_added LIMIT 1`, []any{0},
			"SEARCH collection_rows USING COVERING INDEX collection_rows_date_added (date_added>?)"},
		{"current", `SELECT ` + versionColumns + `, v.body FROM versions v WHERE v.id = ? ORDER BY v.vtime DESC LIMIT 1`, []any{"x"},
			byID},
		{"changes", `SELECT ch.seq FROM changes ch JOIN collections c ON c.pk = ch.collection WHERE ch.seq > ? ORDER BY ch.seq LIMIT ?`, []any{0, 10},
			"SEARCH ch USING INTEGER PRIMARY KEY (rowid>?)"},
		{"collection", `SELECT pk FROM collections WHERE id = ?1 OR alias = ?1`, []any{"x"}, "MULTI-INDEX OR"},
		{"write head", writeSQL[2], []any{"x"}, "SEARCH versions USING INDEX versions_id_vtime (id=?)"},
		{"write exact", writeSQL[3], []any{"x", 1}, "SEARCH versions USING INDEX versions_id_vtime (id=? AND vtime=?)"},
		{"write unversioned", writeSQL[4], []any{"x", []byte{1}}, "SEARCH versions USING INDEX versions_unversioned (id=? AND hash=?)"},
		{"write in collection", writeSQL[5], []any{1, 1}, "SEARCH collection_rows USING COVERING INDEX collection_rows_version (collection=? AND version_pk=?)"},
		{"write ends", writeSQL[6], []any{1, "x"}, byID},
		{"write ends row", writeSQL[6], []any{1, "x"}, "SEARCH r USING INDEX collection_rows_version (collection=? AND version_pk=?)"},
		{"write clear first", writeSQL[7], []any{1, 1}, "SEARCH collection_rows USING PRIMARY KEY (collection=? AND seq=?)"},
		{"write clear last", writeSQL[8], []any{1, 1}, "SEARCH collection_rows USING PRIMARY KEY (collection=? AND seq=?)"},
		{"write version audience", writeSQL[13], []any{1}, "SEARCH versions USING INTEGER PRIMARY KEY (rowid=?)"},
		{"delete audience", deleteAudienceSQL, []any{1, "node", 1}, "SEARCH audience USING PRIMARY KEY (collection=? AND key=? AND seq=?)"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkPlan(t, db, tc.sql, tc.args, false, tc.want) })
	}
}

func checkPlan(t *testing.T, db *DB, query string, args []any, sortOK bool, want ...string) {
	t.Helper()
	rows, err := db.w.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "\n  ")
	for _, d := range plan {
		// Reading a co-routine (the merged candidates of an audience scan)
		// scans its output, not a table.
		coroutine := strings.HasPrefix(d, "SCAN ") && slices.Contains(plan, "CO-ROUTINE "+strings.TrimPrefix(d, "SCAN "))
		full := strings.HasPrefix(d, "SCAN ") && !strings.Contains(d, "USING") && !strings.Contains(d, "CONSTANT ROW") && !coroutine
		if full || strings.Contains(d, "TEMP B-TREE") && !sortOK {
			t.Errorf("plan of %s scans or sorts:\n  %s", query, text)
		}
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("plan of %s\nlacks %q:\n  %s", query, w, text)
		}
	}
}
