package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

// RunAudit runs the conformance tests for store.Audit: sealing, dense
// sequence numbers under concurrent appends and through audit.Logger,
// atomic rejection of invalid records, and the query filters. The stores
// open returns must implement store.Audit. Tampering needs each backend's
// own SQL: see RunAuditTamper.
func RunAudit(t *testing.T, open Opener) {
	auditStore := func(t *testing.T, opts store.Options) store.Audit {
		s := open(t, opts)
		a, ok := s.(store.Audit)
		if !ok {
			t.Fatalf("%T does not implement store.Audit", s)
		}
		return a
	}
	t.Run("Empty", func(t *testing.T) { testAuditEmpty(t, auditStore(t, store.Options{})) })
	t.Run("Append", func(t *testing.T) { testAuditAppend(t, auditStore) })
	t.Run("Invalid", func(t *testing.T) { testAuditInvalid(t, auditStore(t, store.Options{})) })
	t.Run("Concurrent", func(t *testing.T) { testAuditConcurrent(t, auditStore(t, store.Options{})) })
	t.Run("Logger", func(t *testing.T) { testAuditLogger(t, auditStore(t, store.Options{})) })
	t.Run("Query", func(t *testing.T) { testAuditQuery(t, auditStore(t, store.Options{})) })
	t.Run("PutAudited", func(t *testing.T) { testPutAudited(t, open) })
}

// AuditFixture appends n records with varied fields, in batches of up to
// three, and returns them as stored.
func AuditFixture(t testing.TB, a store.Audit, n int) []audit.Record {
	t.Helper()
	var all []audit.Record
	for i := 0; i < n; {
		var batch []audit.Record
		for k := 0; k < 1+i%3 && i < n; k++ {
			batch = append(batch, auditRecord(i))
			i++
		}
		got, err := a.AppendAudit(context.Background(), batch)
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		all = append(all, got...)
	}
	return all
}

var auditActors = []string{"alice", "peer:jp-node", "cli", "taro"}
var auditActions = []string{"read", "write", "release", "deny", "token.create"}

// auditRecord is the i-th fixture record: actors and actions cycle, and
// the time moves on a second per record (some records reuse the previous
// second, so time ranges cut between equal times too).
func auditRecord(i int) audit.Record {
	r := audit.Record{
		Time:       t0.Add(time.Duration(i-i%4/3) * time.Second).Add(123456 * time.Nanosecond),
		Actor:      auditActors[i%len(auditActors)],
		Org:        "cert-in",
		Action:     auditActions[i%len(auditActions)],
		Path:       "taxii:objects",
		Collection: "4bd3a7f8-0c38-4ff1-9c52-2a1f7a2c7a01",
		Rule:       fmt.Sprintf("tlp.green.%d", i%2),
		Status:     200,
	}
	if i%5 == 3 {
		r.Status = 404
		r.Rule = "policy.denied"
	}
	for k := range i % 4 {
		r.Objects = append(r.Objects, fmt.Sprintf("indicator--%s@2026-03-01T12:00:00.%03dZ", uuidN(i*10+k), k))
	}
	return r
}

// verifyAuditFault fails the test unless a's chain fails to verify with
// a fault of problem p at seq.
func verifyAuditFault(t testing.TB, a store.Audit, seq int64, p audit.Problem) {
	t.Helper()
	_, _, _, err := store.VerifyAudit(context.Background(), a)
	var f *audit.Fault
	if !errors.As(err, &f) || !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("VerifyAudit = %v, want a fault %v at record %d", err, p, seq)
	}
	if f.Seq != seq || f.Problem != p {
		t.Fatalf("VerifyAudit = %v, want %v at record %d", err, p, seq)
	}
}

func verifyAudit(t testing.TB, a store.Audit, want []audit.Record) {
	t.Helper()
	n, seq, hash, err := store.VerifyAudit(context.Background(), a)
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	var wantHash [32]byte
	if len(want) > 0 {
		wantHash = want[len(want)-1].Hash
	}
	if n != int64(len(want)) || seq != int64(len(want)) || hash != wantHash {
		t.Fatalf("VerifyAudit = %d records, head %d %x; want %d, head %d %x", n, seq, hash, len(want), len(want), wantHash)
	}
}

func allAudit(t testing.TB, a store.Audit, q store.AuditQuery) []audit.Record {
	t.Helper()
	var out []audit.Record
	next := store.ScanAudit(context.Background(), a, q)
	for {
		r, ok, err := next()
		if err != nil {
			t.Fatalf("ScanAudit(%+v): %v", q, err)
		}
		if !ok {
			return out
		}
		out = append(out, r)
	}
}

var auditCmp = cmp.Options{cmpopts.EquateEmpty()}

func testAuditEmpty(t *testing.T, a store.Audit) {
	seq, hash, err := a.AuditHead(ctx)
	if err != nil || seq != 0 || hash != ([32]byte{}) {
		t.Fatalf("AuditHead = %d, %x, %v; want 0, zero", seq, hash, err)
	}
	if rs, err := a.AuditRecords(ctx, store.AuditQuery{Limit: 10}); err != nil || len(rs) != 0 {
		t.Fatalf("AuditRecords = %v, %v", rs, err)
	}
	if rs, err := a.AppendAudit(ctx, nil); err != nil || len(rs) != 0 {
		t.Fatalf("AppendAudit(nil) = %v, %v", rs, err)
	}
	verifyAudit(t, a, nil)
	for _, limit := range []int{0, -1} {
		if _, err := a.AuditRecords(ctx, store.AuditQuery{Limit: limit}); err == nil {
			t.Errorf("AuditRecords with limit %d succeeded", limit)
		}
	}
}

func testAuditAppend(t *testing.T, open func(*testing.T, store.Options) store.Audit) {
	clock := t0.Add(time.Hour + 987654321*time.Nanosecond)
	a := open(t, store.Options{Now: func() time.Time { return clock }})
	in := []audit.Record{
		{Actor: "alice", Org: "cert-in", Action: "read", Path: "taxii:object", Collection: "c",
			Objects: []string{"indicator--" + uuidN(1) + "@2026-03-01T12:00:00.000Z"}, Rule: "tlp.clear", Status: 200},
		{Time: t0.In(time.FixedZone("IST", 5*3600+1800)).Add(1500 * time.Nanosecond), Actor: "peer:jp", Action: "deny",
			Path: "taxii:objects", Rule: "agreement.none", Status: 404, Objects: []string{}},
		{Actor: "cli", Action: "org.create", Path: "manage:orgs", Status: 0, Objects: []string{"identity--x", "ünïcödé <&>"}},
	}
	got, err := a.AppendAudit(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("AppendAudit returned %d records for %d", len(got), len(in))
	}
	// Sealing: dense seqs from 1, chained from the zero hash, a zero Time
	// from the store's clock and every Time to the microsecond in UTC.
	want := make([]audit.Record, len(in))
	prev := [32]byte{}
	for i, r := range in {
		if r.Time.IsZero() {
			r.Time = clock
		}
		r.Time = r.Time.UTC().Truncate(time.Microsecond)
		if len(r.Objects) == 0 {
			r.Objects = nil
		}
		r.Seq, r.Prev = int64(i+1), prev
		r.Hash = r.Sum()
		prev = r.Hash
		want[i] = r
	}
	if diff := cmp.Diff(want, got, auditCmp); diff != "" {
		t.Fatalf("AppendAudit (-want +got):\n%s", diff)
	}
	if got[0].Time.Location() != time.UTC || got[1].Time.Location() != time.UTC {
		t.Errorf("times not UTC: %v, %v", got[0].Time, got[1].Time)
	}
	stored, err := a.AuditRecords(ctx, store.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored, auditCmp); diff != "" {
		t.Fatalf("AuditRecords (-want +got):\n%s", diff)
	}
	for _, r := range stored {
		if r.Time.Location() != time.UTC {
			t.Errorf("record %d: time %v not UTC", r.Seq, r.Time)
		}
	}
	// A second append continues the chain.
	more, err := a.AppendAudit(ctx, []audit.Record{{Actor: "alice", Action: "write", Status: 202}})
	if err != nil {
		t.Fatal(err)
	}
	if more[0].Seq != 4 || more[0].Prev != got[2].Hash {
		t.Fatalf("second append: seq %d prev %x; want 4, %x", more[0].Seq, more[0].Prev, got[2].Hash)
	}
	verifyAudit(t, a, append(want, more...))
	if err := audit.Verify(store.ScanAudit(ctx, a, store.AuditQuery{Limit: 1})); err != nil {
		t.Fatalf("Verify over pages of one: %v", err)
	}
}

func testAuditInvalid(t *testing.T, a store.Audit) {
	first := AuditFixture(t, a, 2)
	for _, tc := range []struct {
		name string
		r    audit.Record
	}{
		{"invalid UTF-8", audit.Record{Actor: "a\xff", Action: "read"}},
		{"NUL", audit.Record{Actor: "a", Action: "read", Objects: []string{"x\x00y"}}},
		{"no action", audit.Record{Actor: "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The good record before it is not appended either: one
			// transaction.
			_, err := a.AppendAudit(ctx, []audit.Record{{Actor: "ok", Action: "read"}, tc.r})
			if !errors.Is(err, audit.ErrInvalid) {
				t.Fatalf("AppendAudit = %v, want ErrInvalid", err)
			}
			verifyAudit(t, a, first)
		})
	}
}

func testAuditConcurrent(t *testing.T, a store.Audit) {
	const workers, appends = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range appends {
				batch := []audit.Record{auditRecord(w*100 + i)}
				if i%3 == 0 {
					batch = append(batch, auditRecord(w*100+i+50))
				}
				got, err := a.AppendAudit(ctx, batch)
				if err != nil {
					errs <- err
					return
				}
				// One append's records are consecutive.
				for k := 1; k < len(got); k++ {
					if got[k].Seq != got[k-1].Seq+1 || got[k].Prev != got[k-1].Hash {
						errs <- fmt.Errorf("append returned seqs %d, %d not chained", got[k-1].Seq, got[k].Seq)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := workers * (appends + (appends+2)/3)
	all := allAudit(t, a, store.AuditQuery{Limit: 37})
	if len(all) != want {
		t.Fatalf("%d records, want %d", len(all), want)
	}
	for i, r := range all {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d: seqs not dense", i+1, r.Seq)
		}
	}
	verifyAudit(t, a, all)
}

// countingAppender counts the appends a Logger makes.
type countingAppender struct {
	store.Audit
	mu    sync.Mutex
	calls int
}

func (c *countingAppender) AppendAudit(ctx context.Context, rs []audit.Record) ([]audit.Record, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Audit.AppendAudit(ctx, rs)
}

func testAuditLogger(t *testing.T, a store.Audit) {
	sink := &countingAppender{Audit: a}
	l := audit.NewLogger(sink, audit.LoggerOptions{MaxBatch: 16})
	const callers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := auditRecord(c*each + i)
				r.Time = time.Time{} // the Logger stamps it
				if err := l.Log(ctx, r); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := l.Log(ctx, auditRecord(0)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
	all := allAudit(t, a, store.AuditQuery{})
	if len(all) != callers*each {
		t.Fatalf("%d records, want %d", len(all), callers*each)
	}
	for _, r := range all {
		if r.Time.IsZero() {
			t.Fatalf("record %d has no time", r.Seq)
		}
	}
	verifyAudit(t, a, all)
	if sink.calls > callers*each {
		t.Errorf("%d appends for %d records", sink.calls, callers*each)
	}
	t.Logf("%d records in %d appends", callers*each, sink.calls)
}

func testAuditQuery(t *testing.T, a store.Audit) {
	all := AuditFixture(t, a, 60)
	mid := all[len(all)/2].Time
	for _, tc := range []struct {
		name  string
		q     store.AuditQuery
		match func(audit.Record) bool
	}{
		{"all", store.AuditQuery{}, func(audit.Record) bool { return true }},
		{"after", store.AuditQuery{After: 17}, func(r audit.Record) bool { return r.Seq > 17 }},
		{"after the end", store.AuditQuery{After: 60}, func(audit.Record) bool { return false }},
		{"actor", store.AuditQuery{Actor: "peer:jp-node"}, func(r audit.Record) bool { return r.Actor == "peer:jp-node" }},
		{"unknown actor", store.AuditQuery{Actor: "mallory"}, func(audit.Record) bool { return false }},
		{"action", store.AuditQuery{Action: "deny"}, func(r audit.Record) bool { return r.Action == "deny" }},
		{"actor and action", store.AuditQuery{Actor: "alice", Action: "read"},
			func(r audit.Record) bool { return r.Actor == "alice" && r.Action == "read" }},
		{"since", store.AuditQuery{Since: mid}, func(r audit.Record) bool { return !r.Time.Before(mid) }},
		{"until", store.AuditQuery{Until: mid}, func(r audit.Record) bool { return r.Time.Before(mid) }},
		{"since, nanoseconds", store.AuditQuery{Since: mid.Add(time.Nanosecond)},
			func(r audit.Record) bool { return r.Time.After(mid) }},
		{"until, nanoseconds", store.AuditQuery{Until: mid.Add(time.Nanosecond)},
			func(r audit.Record) bool { return !r.Time.After(mid) }},
		{"window and actor", store.AuditQuery{Since: all[10].Time, Until: all[40].Time, Actor: "cli", After: 12},
			func(r audit.Record) bool {
				return !r.Time.Before(all[10].Time) && r.Time.Before(all[40].Time) && r.Actor == "cli" && r.Seq > 12
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []audit.Record
			for _, r := range all {
				if tc.match(r) {
					want = append(want, r)
				}
			}
			for _, limit := range []int{1, 7, 1000} {
				q := tc.q
				q.Limit = limit
				page, err := a.AuditRecords(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("limit %d: %d records", limit, len(page))
				}
				if diff := cmp.Diff(want[:min(limit, len(want))], page, auditCmp); diff != "" {
					t.Fatalf("limit %d, first page (-want +got):\n%s", limit, diff)
				}
				if diff := cmp.Diff(want, allAudit(t, a, q), auditCmp); diff != "" {
					t.Fatalf("limit %d, all pages (-want +got):\n%s", limit, diff)
				}
			}
		})
	}
}

// AuditTamper edits stored audit rows behind the store's back, as someone
// with write access to the database could. Each backend implements it in
// its tests with its own SQL; columns are named as in both schemas (seq,
// time, actor, objects, prev, hash, …), values are Go values (time.Time,
// string, []byte; objects as JSON text).
type AuditTamper interface {
	// Set sets one column of the record at seq.
	Set(t testing.TB, seq int64, column string, value any) error
	// Delete removes the record at seq.
	Delete(t testing.TB, seq int64) error
	// Renumber moves the record at seq from to seq to (which must be free).
	Renumber(t testing.TB, from, to int64) error
	// SetHead rewrites the head row.
	SetHead(t testing.TB, seq int64, hash [32]byte) error
	// Unguard removes the schema's append-only guards.
	Unguard(t testing.TB)
}

// RunAuditTamper checks that the schema refuses to change or delete audit
// records, and that every kind of tampering done past those guards is
// reported by store.VerifyAudit as the first bad record and what is wrong.
// open returns a fresh, empty store and a tamperer for its database.
func RunAuditTamper(t *testing.T, open func(t *testing.T) (store.Audit, AuditTamper)) {
	const n = 10
	t.Run("guards", func(t *testing.T) {
		a, tm := open(t)
		recs := AuditFixture(t, a, n)
		if err := tm.Set(t, 4, "actor", "mallory"); err == nil {
			t.Error("UPDATE of an audit record succeeded")
		}
		if err := tm.Delete(t, 4); err == nil {
			t.Error("DELETE of an audit record succeeded")
		}
		verifyAudit(t, a, recs)
	})
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, tm AuditTamper, recs []audit.Record) error
		seq     int64
		problem audit.Problem
	}{
		{"field changed", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Set(t, 4, "actor", "mallory")
		}, 4, audit.Changed},
		{"status changed", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Set(t, 7, "status", 200+1)
		}, 7, audit.Changed},
		{"time changed", func(t *testing.T, tm AuditTamper, recs []audit.Record) error {
			return tm.Set(t, 2, "time", recs[1].Time.Add(time.Microsecond))
		}, 2, audit.Changed},
		{"objects removed", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Set(t, 3, "objects", `[]`) // record 3 lists two objects
		}, 3, audit.Changed},
		{"prev changed", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Set(t, 5, "prev", make([]byte, 32))
		}, 5, audit.Changed},
		{"changed and rehashed", func(t *testing.T, tm AuditTamper, recs []audit.Record) error {
			r := recs[3]
			r.Actor = "mallory"
			h := r.Sum()
			if err := tm.Set(t, 4, "actor", r.Actor); err != nil {
				return err
			}
			return tm.Set(t, 4, "hash", h[:])
		}, 5, audit.Unlinked},
		{"last changed and rehashed", func(t *testing.T, tm AuditTamper, recs []audit.Record) error {
			r := recs[n-1]
			r.Status = 500
			h := r.Sum()
			if err := tm.Set(t, n, "status", r.Status); err != nil {
				return err
			}
			return tm.Set(t, n, "hash", h[:])
		}, n, audit.HeadMismatch},
		{"deleted", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Delete(t, 6)
		}, 6, audit.Missing},
		{"first deleted", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Delete(t, 1)
		}, 1, audit.Missing},
		{"last deleted", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.Delete(t, n)
		}, n, audit.Missing},
		{"all deleted", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			for seq := int64(1); seq <= n; seq++ {
				if err := tm.Delete(t, seq); err != nil {
					return err
				}
			}
			return nil
		}, 1, audit.Missing},
		{"swapped", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			for _, mv := range [][2]int64{{3, -3}, {7, 3}, {-3, 7}} {
				if err := tm.Renumber(t, mv[0], mv[1]); err != nil {
					return err
				}
			}
			return nil
		}, 3, audit.Changed},
		{"renumbered over a gap", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			// Delete record 6 and close the gap: the numbering is dense
			// again, but the moved records' hashes cover their old seqs.
			if err := tm.Delete(t, 6); err != nil {
				return err
			}
			for seq := int64(7); seq <= n; seq++ {
				if err := tm.Renumber(t, seq, seq-1); err != nil {
					return err
				}
			}
			return nil
		}, 6, audit.Changed},
		{"last deleted, head moved back", func(t *testing.T, tm AuditTamper, recs []audit.Record) error {
			// A valid shorter chain: the database alone cannot tell. Only
			// a head noted elsewhere can (problem 0: see below).
			if err := tm.Delete(t, n); err != nil {
				return err
			}
			return tm.SetHead(t, n-1, recs[n-2].Hash)
		}, 0, 0},
		{"head moved back over stored records", func(t *testing.T, tm AuditTamper, recs []audit.Record) error {
			return tm.SetHead(t, n-2, recs[n-3].Hash)
		}, n - 1, audit.HeadMismatch},
		{"head hash changed", func(t *testing.T, tm AuditTamper, _ []audit.Record) error {
			return tm.SetHead(t, n, [32]byte{1})
		}, n, audit.HeadMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own store
			a, tm := open(t)
			recs := AuditFixture(t, a, n)
			if len(recs[2].Objects) != 2 {
				t.Fatalf("fixture record 3 lists %d objects, want 2", len(recs[2].Objects))
			}
			tm.Unguard(t)
			if err := tc.tamper(t, tm, recs); err != nil {
				t.Fatalf("tampering: %v", err)
			}
			if tc.problem == 0 {
				// It verifies, and reports a head other than the one an
				// operator would have noted before.
				count, seq, hash, err := store.VerifyAudit(ctx, a)
				if err != nil || count != n-1 || seq != n-1 || hash != recs[n-2].Hash || hash == recs[n-1].Hash {
					t.Fatalf("VerifyAudit = %d, %d, %x, %v; want %d records, head %x", count, seq, hash, err, n-1, recs[n-2].Hash)
				}
				return
			}
			verifyAuditFault(t, a, tc.seq, tc.problem)
		})
	}
}

// testPutAudited: the records of a write are appended in its transaction,
// chained like any other, and an invalid one stores nothing.
func testPutAudited(t *testing.T, open Opener) {
	s := openWith(t, open, store.Options{})
	a := s.(store.Audit)
	ctx := context.Background()
	// written names the versions a batch added, as the write path records
	// them, and counts the calls.
	calls := 0
	written := func(vs []store.Version) func([]store.Result) []audit.Record {
		return func(rs []store.Result) []audit.Record {
			calls++
			rec := audit.Record{Actor: "alice", Org: "o", Action: "write", Path: "test", Collection: collA, Rule: "write"}
			for i, r := range rs {
				if r.Outcome == store.Added || r.Outcome == store.Duplicate {
					rec.Objects = append(rec.Objects, vs[i].Key())
				}
			}
			return []audit.Record{rec}
		}
	}
	head := func() int64 {
		t.Helper()
		seq, _, err := a.AuditHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	vs := []store.Version{indicator(t, 1, 0), indicator(t, 2, 0)}
	rs, err := s.PutAudited(ctx, collA, vs, written(vs))
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, rs, store.Added, store.Added)
	// Only duplicates: the record is still written.
	again := []store.Version{vs[0]}
	rs, err = s.PutAudited(ctx, collA, again, written(again))
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, rs, store.Duplicate)
	// No record: nothing appended.
	if _, err := s.PutAudited(ctx, collA, []store.Version{indicator(t, 3, 0)}, func([]store.Result) []audit.Record { return nil }); err != nil {
		t.Fatal(err)
	}
	recs, err := a.AuditRecords(ctx, store.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range recs {
		got = append(got, r.Objects)
	}
	want := [][]string{{vs[0].Key(), vs[1].Key()}, {vs[0].Key()}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if err := audit.Verify(store.ScanAudit(ctx, a, store.AuditQuery{Limit: 1})); err != nil {
		t.Errorf("chain: %v", err)
	}

	// An invalid record fails the call: neither the versions nor any
	// record are stored.
	before, rows := head(), stats(t, s).CollectionRows
	bad := []store.Version{indicator(t, 4, 0)}
	_, err = s.PutAudited(ctx, collA, bad, func([]store.Result) []audit.Record { return []audit.Record{{Actor: "alice"}} })
	if !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("invalid record: %v, want audit.ErrInvalid", err)
	}
	if head() != before || stats(t, s).CollectionRows != rows {
		t.Errorf("a failed audited put stored something: head %d (was %d), rows %d (were %d)", head(), before, stats(t, s).CollectionRows, rows)
	}
	if calls == 0 {
		t.Error("record was never called")
	}
}
