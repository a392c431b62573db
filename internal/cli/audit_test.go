package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/store/storetest"
)

// auditData returns a data directory whose store holds n audit records,
// and the records.
func auditData(t *testing.T, n int) (string, []audit.Record) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "setu.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return dir, storetest.AuditFixture(t, db, n)
}

func decodeAudit(t *testing.T, out string) []audit.Record {
	t.Helper()
	var rs []audit.Record
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestAuditVerify(t *testing.T) {
	t.Run("records", func(t *testing.T) {
		dir, recs := auditData(t, 25)
		code, out, errs := run(t, "", "audit", "verify", "--data", dir)
		last := recs[len(recs)-1].Hash
		want := fmt.Sprintf("audit log verified: 25 records, head %s\n", hex.EncodeToString(last[:]))
		if code != 0 || out != want {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q", code, out, errs, want)
		}
	})
	t.Run("empty", func(t *testing.T) {
		code, out, errs := run(t, "", "audit", "verify", "--data", t.TempDir())
		if code != 0 || !strings.HasPrefix(out, "audit log verified: 0 records, head 0000") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"audit"}, {"audit", "nope"}, {"audit", "verify", "extra"}, {"audit", "verify", "--bogus"}} {
			if code, _, _ := run(t, "", args...); code != 2 {
				t.Errorf("%v: exit %d, want 2", args, code)
			}
		}
	})
}

// tampered is a store.Audit whose reads return a changed chain, standing in
// for a database edited behind the store's back (that is tested against
// each backend's tables in its own package).
type tampered struct {
	recs []audit.Record
	head int64
}

func (tp *tampered) AppendAudit(context.Context, []audit.Record) ([]audit.Record, error) {
	panic("not used")
}

func (tp *tampered) AuditRecords(_ context.Context, q store.AuditQuery) ([]audit.Record, error) {
	var out []audit.Record
	for _, r := range tp.recs {
		if r.Seq > q.After && len(out) < q.Limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (tp *tampered) AuditHead(context.Context) (int64, [32]byte, error) {
	for _, r := range tp.recs {
		if r.Seq == tp.head {
			return r.Seq, r.Hash, nil
		}
	}
	return tp.head, [32]byte{}, nil
}

func TestAuditVerifyFault(t *testing.T) {
	var in []audit.Record
	for i := range 5 {
		in = append(in, audit.Record{Actor: "alice", Action: "read", Status: 200, Time: time.Unix(int64(i), 0)})
	}
	recs, err := audit.Seal(0, [32]byte{}, time.Now(), in)
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]audit.Record(nil), recs...)
	changed[2].Actor = "mallory"
	for _, tc := range []struct {
		name string
		a    *tampered
		want string
	}{
		{"changed", &tampered{changed, 5}, "setu: audit log does not verify: record 3: changed:"},
		{"deleted", &tampered{append(append([]audit.Record(nil), recs[:1]...), recs[2:]...), 5}, "setu: audit log does not verify: record 2: missing:"},
		{"last deleted", &tampered{recs[:4], 5}, "setu: audit log does not verify: record 5: missing:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			e := &env{stdout: &out, stderr: &errb}
			if code := verifyAuditLog(context.Background(), e, tc.a); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if out.Len() != 0 || !strings.HasPrefix(errb.String(), tc.want) {
				t.Fatalf("stdout %q, stderr %q; want stderr starting %q", out.String(), errb.String(), tc.want)
			}
		})
	}
}

func TestAuditExport(t *testing.T) {
	dir, recs := auditData(t, 40)
	mid := recs[20].Time
	for _, tc := range []struct {
		name  string
		args  []string
		match func(audit.Record) bool
	}{
		{"all", nil, func(audit.Record) bool { return true }},
		{"after", []string{"--after", "33"}, func(r audit.Record) bool { return r.Seq > 33 }},
		{"actor", []string{"--actor", "cli"}, func(r audit.Record) bool { return r.Actor == "cli" }},
		{"action", []string{"--action", "deny"}, func(r audit.Record) bool { return r.Action == "deny" }},
		{"since", []string{"--since", mid.Format(time.RFC3339Nano)}, func(r audit.Record) bool { return !r.Time.Before(mid) }},
		{"until", []string{"--until", mid.Format(time.RFC3339Nano)}, func(r audit.Record) bool { return r.Time.Before(mid) }},
		{"until a date", []string{"--until", mid.Format(time.DateOnly)}, func(audit.Record) bool { return false }},
		{"since a date", []string{"--since", mid.Format(time.DateOnly)}, func(audit.Record) bool { return true }},
		{"everything", []string{"--since", recs[5].Time.Format(time.RFC3339Nano), "--until", mid.Format(time.RFC3339Nano),
			"--actor", "alice", "--action", "read", "--after", "3"},
			func(r audit.Record) bool {
				return !r.Time.Before(recs[5].Time) && r.Time.Before(mid) && r.Actor == "alice" && r.Action == "read" && r.Seq > 3
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []audit.Record
			for _, r := range recs {
				if tc.match(r) {
					want = append(want, r)
				}
			}
			code, out, errs := run(t, "", append([]string{"audit", "export", "--data", dir}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := decodeAudit(t, out)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("exported records verify", func(t *testing.T) {
		_, out, _ := run(t, "", "audit", "export", "--data", dir)
		got := decodeAudit(t, out)
		i := 0
		if err := audit.Verify(func() (audit.Record, bool, error) {
			if i == len(got) {
				return audit.Record{}, false, nil
			}
			i++
			return got[i-1], true, nil
		}); err != nil || len(got) != len(recs) {
			t.Fatalf("Verify(export of %d records) = %v", len(got), err)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"--since", "yesterday"}, {"--until", "2026-13-01"}, {"--after", "-1"}, {"--after", "x"}, {"positional"},
		} {
			code, _, errs := run(t, "", append([]string{"audit", "export", "--data", dir}, args...)...)
			if code != 2 {
				t.Errorf("%v: exit %d (%s), want 2", args, code, errs)
			}
		}
	})
}
