package ingest_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

const coll = "9b3c2f1e-0000-4000-8000-000000000001"

func open(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "i.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateCollection(ctx, store.Collection{ID: coll, Alias: "c", Title: "c"}); err != nil {
		t.Fatal(err)
	}
	return db
}

func writer(org string) ingest.Writer {
	return ingest.Writer{Org: org, Identity: account.Org{ID: org}.IdentityID()}
}

// indicator is a version of indicator n, modified at second mod, with
// extra properties (",\"name\":...").
func indicator(n, mod int, extra string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000",`+
		`"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:%02d.000Z","pattern":"[domain-name:value = 'x.example']",`+
		`"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"%s}`, n, mod, extra)
}

func createdBy(org string) string {
	return `,"created_by_ref":"` + account.Org{ID: org}.IdentityID() + `"`
}

// step is one submission and what must come of it.
type step struct {
	w    ingest.Writer
	body string
	want ingest.Outcome
	err  error // for Rejected: what it wraps (nil: any error)
}

func run(t *testing.T, in *ingest.Ingester, steps []step) {
	t.Helper()
	for i, s := range steps {
		items, err := in.ObjectsAs(context.Background(), s.w, coll, [][]byte{[]byte(s.body)})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		it := items[0]
		if it.Outcome != s.want {
			t.Fatalf("step %d (%s): %v %v, want %v", i, s.w.Org, it.Outcome, it.Err, s.want)
		}
		if s.want == ingest.Rejected {
			if it.Err == nil || it.Err.Error() == "" || s.err != nil && !errors.Is(it.Err, s.err) {
				t.Fatalf("step %d: error %v, want one wrapping %v", i, it.Err, s.err)
			}
		}
	}
}

// TestOwnership: only the creating organisation publishes its objects, and
// only it versions or revokes them; others are refused with a clear error
// and nothing stored changes.
func TestOwnership(t *testing.T) {
	a, b := writer("a"), writer("b")
	relay := ingest.Operator
	tests := []struct {
		name  string
		steps []step
	}{
		{"no creator stays absent; versioned by its submitter", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{a, indicator(1, 1, createdBy("a")), ingest.Added, nil},
			{a, indicator(1, 1, createdBy("a")), ingest.Duplicate, nil},
		}},
		{"publishing as another organisation", []step{
			{b, indicator(1, 0, createdBy("a")), ingest.Rejected, ingest.ErrNotCreator},
		}},
		{"another organisation versions someone else's object", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{b, indicator(1, 1, ""), ingest.Rejected, store.ErrNotOwner},
		}},
		{"another organisation revokes someone else's object", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{b, indicator(1, 1, `,"revoked":true`), ingest.Rejected, store.ErrNotOwner},
		}},
		{"a relay stores others' objects but does not version them", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{relay, indicator(2, 0, createdBy("a")), ingest.Added, nil},
			{relay, indicator(1, 1, createdBy("a")), ingest.Rejected, store.ErrNotOwner},
		}},
		{"an exact duplicate is a success whoever sends it", []step{
			{relay, indicator(1, 0, createdBy("a")), ingest.Added, nil},
			{b, indicator(1, 0, createdBy("a")), ingest.Duplicate, nil},
			{relay, indicator(1, 0, createdBy("a")), ingest.Duplicate, nil},
			{b, indicator(1, 1, createdBy("a")), ingest.Rejected, ingest.ErrNotCreator},
		}},
		{"an object without a creator does not block the genuine one", []step{
			// An organisation posts someone else's object, which names no
			// creator: it is stored as sent, so the same object relayed
			// later is an exact duplicate, not a conflict.
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{relay, indicator(1, 0, ""), ingest.Duplicate, nil},
			{b, indicator(1, 0, ""), ingest.Duplicate, nil},
		}},
		{"owner revokes; nothing after", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{a, indicator(1, 1, createdBy("a")+`,"revoked":true`), ingest.Added, nil},
			{a, indicator(1, 2, createdBy("a")), ingest.Rejected, store.ErrRevoked},
		}},
		{"same version, other content", []step{
			{a, indicator(1, 0, ""), ingest.Added, nil},
			{a, indicator(1, 0, createdBy("a")+`,"name":"changed"`), ingest.Rejected, store.ErrConflict},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			run(t, ingest.New(db, 0), tc.steps)
		})
	}
}

// TestStoredAsSent: an organisation's object without created_by_ref is
// stored exactly as sent; its submitter is metadata beside it.
func TestStoredAsSent(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	// In canonical (RFC 8785) member order, as the store keeps it.
	body := `{"created":"2017-05-31T21:31:43.540Z","id":"intrusion-set--68ba94ab-78b8-43e7-83e2-aed3466882c6",` +
		`"modified":"2024-04-11T00:00:00.000Z","name":"APT-X","spec_version":"2.1","type":"intrusion-set"}`
	run(t, ingest.New(db, 0), []step{{writer("a"), body, ingest.Added, nil}})
	v, err := db.Current(ctx, "intrusion-set--68ba94ab-78b8-43e7-83e2-aed3466882c6")
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Body) != body {
		t.Errorf("stored %s\nsent   %s", v.Body, body)
	}
	if v.Submitter != "a" {
		t.Errorf("submitter %q, want a", v.Submitter)
	}
}

// TestBadMarkings: marking definitions that cannot be honoured are refused
// with a clear error, and the batch's other objects are stored. An object
// that refers to a refused definition is stored with a marking the node
// cannot interpret, so it stays with its submitter.
func TestBadMarkings(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	in := ingest.New(db, 0, ingest.WithGroups(db))
	g := policy.Distribution{Scope: policy.ScopeGroup, Group: "no-such-group"}
	gdef, err := g.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	raws := [][]byte{
		[]byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--11111111-1111-4111-8111-111111111111","created":"2024-01-01T00:00:00.000Z","definition_type":"statement"}`),
		gdef,
		[]byte(indicator(1, 0, `,"object_marking_refs":["`+g.MarkingID()+`"]`)),
		[]byte(indicator(2, 0, "")),
	}
	items, err := in.Objects(ctx, coll, raws)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []ingest.Outcome{ingest.Rejected, ingest.Rejected, ingest.Added, ingest.Added} {
		if items[i].Outcome != want {
			t.Errorf("object %d: %v %v, want %v", i, items[i].Outcome, items[i].Err, want)
		}
	}
	if items[0].Err == nil || !strings.Contains(items[0].Err.Error(), "definition") {
		t.Errorf("malformed marking definition: %v", items[0].Err)
	}
	if items[1].Err == nil || !strings.Contains(items[1].Err.Error(), "no-such-group") {
		t.Errorf("group marking: error %v does not name the group", items[1].Err)
	}
	v, err := db.Current(ctx, items[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	d := policy.Config{}.Decide(policy.Reader{User: "u", Org: "b"}, policy.DecodeFacts(v.Facts, v.Submitter))
	if d.Allow || d.Rule != "unknown-marking" {
		t.Errorf("object marked with a refused definition: %+v", d)
	}
}

// TestAnonymous: an anonymous organisation's objects are served to everyone
// else with the node as creator; it alone sees the truth, which is kept.
func TestAnonymous(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	anon := writer("a")
	anon.Anonymous = true
	in := ingest.New(db, 0)
	run(t, in, []step{
		{anon, indicator(1, 0, `,"object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]`), ingest.Added, nil},
		{anon, indicator(2, 0, createdBy("a")), ingest.Added, nil},
		{writer("b"), indicator(3, 0, ""), ingest.Added, nil},
		// The submitter sending what it sent again: a duplicate.
		{anon, indicator(2, 0, createdBy("a")), ingest.Duplicate, nil},
		// Ownership stays with the submitter.
		{writer("b"), indicator(2, 1, ""), ingest.Rejected, store.ErrNotOwner},
		{anon, indicator(2, 1, createdBy("a")), ingest.Added, nil},
	})
	node := account.Org{ID: account.NodeOrg}.IdentityID()
	ident := account.Org{ID: "a"}.IdentityID()
	gate := policy.NewGate(db, policy.Config{})
	tests := []struct {
		name    string
		r       policy.Reader
		creator map[string]string // object n -> created_by_ref served
	}{
		// Objects 1 and 3 name no creator, and are served as sent.
		{"submitter", policy.Reader{User: "u", Org: "a"}, map[string]string{"1": "", "2": ident, "3": ""}},
		{"other organisation", policy.Reader{User: "v", Org: "b"}, map[string]string{"1": "", "2": node, "3": ""}},
		{"partner node", policy.Reader{Peer: "jp"}, map[string]string{"1": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gate.Query(ctx, tc.r, store.Query{Collection: coll, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, v := range p.Versions {
				var n int
				fmt.Sscanf(strings.TrimPrefix(v.ID, "indicator--"), "%08d", &n)
				got[fmt.Sprint(n)] = creatorOf(t, v.Body)
				if v.Hash != sha256.Sum256(v.Body) {
					t.Errorf("%s: hash is not the served body's", v.ID)
				}
				if strings.Contains(string(v.Body), ident) && tc.r.Org != "a" {
					t.Errorf("%s: the submitter's identity reaches %+v: %s", v.ID, tc.r, v.Body)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.creator) {
				t.Errorf("creators served %v, want %v", got, tc.creator)
			}
		})
	}
	// The truth is kept.
	v, err := db.Current(ctx, "indicator--00000002-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if creatorOf(t, v.Body) != ident || creatorOf(t, v.Released) != node {
		t.Errorf("stored body names %s, released %s", creatorOf(t, v.Body), creatorOf(t, v.Released))
	}
}

func creatorOf(t *testing.T, body []byte) string {
	t.Helper()
	const key = `"created_by_ref":"`
	i := strings.Index(string(body), key)
	if i < 0 {
		return ""
	}
	rest := string(body[i+len(key):])
	return rest[:strings.IndexByte(rest, '"')]
}

// TestPatternWarnings: an indicator whose pattern does not parse, or names
// warninglisted values, is stored with a warning that says so; other
// pattern types are not looked at.
func TestPatternWarnings(t *testing.T) {
	db := open(t)
	in := ingest.New(db, 0, ingest.WithPatterns(match.DefaultWarninglist()))
	withPattern := func(n int, typ, p string) []byte {
		return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000",`+
			`"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":%q,"pattern_type":%q,"valid_from":"2024-01-01T00:00:00Z"}`, n, p, typ))
	}
	tests := []struct {
		raw  []byte
		want string // substring of the one warning; "" for none
	}{
		{withPattern(1, "stix", "[domain-name:value = 'bad-actor.net']"), ""},
		{withPattern(2, "stix", "[domain-name:value = "), "not evaluable"},
		{withPattern(3, "stix", "[ipv4-addr:value = '192.168.1.1']"), "warninglist"},
		{withPattern(4, "sigma", "title: x"), ""},
	}
	for i, tc := range tests {
		items, err := in.Objects(context.Background(), coll, [][]byte{tc.raw})
		if err != nil {
			t.Fatal(err)
		}
		it := items[0]
		if it.Outcome != ingest.Added {
			t.Errorf("%d: %v %v", i, it.Outcome, it.Err)
		}
		got := strings.Join(it.Warnings, "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%d: warnings %q, want %q", i, got, tc.want)
		}
	}
}

// TestPrepareStore checks that batches prepared ahead of storing, with the
// definitions they met carried from one to the next, end as one stream
// of them does.
func TestPrepareStore(t *testing.T) {
	ctx := context.Background()
	d := policy.Distribution{Scope: policy.ScopePartners}
	def, err := d.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	marked := `,"object_marking_refs":["` + d.MarkingID() + `"]`
	batches := [][][]byte{
		{def, []byte(indicator(1, 0, marked))},
		{[]byte(indicator(2, 0, marked)), []byte(indicator(1, 0, marked)), []byte(`{"type":"indicator"}`)},
	}
	var all [][]byte
	for _, b := range batches {
		all = append(all, b...)
	}
	one, two := open(t), open(t)
	want, err := ingest.New(one, 0).ObjectsAs(ctx, ingest.Operator, coll, all)
	if err != nil {
		t.Fatal(err)
	}
	in := ingest.New(two, 0)
	seen := map[string][]byte{}
	var prepared []*ingest.Prepared
	for _, b := range batches {
		prepared = append(prepared, in.Prepare(ctx, ingest.Operator, b, seen))
	}
	var got []ingest.Item
	for _, pr := range prepared {
		items, err := in.Store(ctx, coll, pr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
	}
	if len(got) != len(want) {
		t.Fatalf("%d items, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Outcome != want[i].Outcome || got[i].ID != want[i].ID {
			t.Errorf("object %d: %v %s, want %v %s", i, got[i].Outcome, got[i].ID, want[i].Outcome, want[i].ID)
		}
		if want[i].Outcome != ingest.Added {
			continue
		}
		a, err := one.Current(ctx, want[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := two.Current(ctx, want[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(a.Facts) != string(b.Facts) || strings.Join(a.Audience, ",") != strings.Join(b.Audience, ",") {
			t.Errorf("%s: facts %s audience %v, want %s %v", want[i].ID, b.Facts, b.Audience, a.Facts, a.Audience)
		}
	}
	if got[1].Outcome != ingest.Added || got[3].Outcome != ingest.Duplicate || got[4].Outcome != ingest.Rejected {
		t.Errorf("outcomes %v", got)
	}
}

// A writer with an audit record has each batch recorded in the batch's
// own transaction: one record per batch, naming its collection and the
// versions added or already there, never the rejected ones.
func TestAuditedBatches(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	w := ingest.Operator
	w.Audit = &audit.Record{Actor: "cli", Action: "write", Path: "test", Rule: "operator"}
	in := ingest.New(db, 2, ingest.WithWriter(w))
	raws := []string{indicator(1, 0, ""), indicator(2, 0, ""), indicator(3, 0, ""), `{"type":"indicator"}`, indicator(1, 0, "")}
	sum, err := in.Stream(ctx, coll, strings.NewReader(strings.Join(raws, "\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 3 || sum.Duplicate != 1 || sum.Rejected != 1 {
		t.Fatalf("summary %+v", sum)
	}
	recs, err := db.AuditRecords(ctx, store.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	name := func(n int) string {
		return fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000@2024-01-01T00:00:00.000Z", n)
	}
	var got [][]string
	for _, r := range recs {
		if r.Collection != coll || r.Actor != "cli" || r.Action != "write" {
			t.Errorf("record %+v", r)
		}
		got = append(got, r.Objects)
	}
	want := [][]string{{name(1), name(2)}, {name(3)}, {name(1)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestKeepStored: with KeepStored, a version already stored with other
// content is reported as a duplicate that was kept, and the stored content
// is listed in the collection; without it, the object is refused.
func TestKeepStored(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	const other = "9b3c2f1e-0000-4000-8000-000000000002"
	must(t, db.CreateCollection(ctx, store.Collection{ID: other, Alias: "other", Title: "other"}))
	first := indicator(1, 0, `,"name":"as first published"`)
	second := indicator(1, 0, `,"name":"as published again"`)
	if _, err := ingest.New(db, 0).Objects(ctx, coll, [][]byte{[]byte(first)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keep bool
		want ingest.Outcome
		rows int
	}{{false, ingest.Rejected, 0}, {true, ingest.Duplicate, 1}} {
		t.Run(fmt.Sprint("keep=", tc.keep), func(t *testing.T) {
			w := ingest.Operator
			w.KeepStored = tc.keep
			sum, err := ingest.New(db, 0, ingest.WithWriter(w)).Stream(ctx, other, strings.NewReader(second), func(it ingest.Item) {
				if it.Outcome != tc.want || it.Kept != tc.keep || !errors.Is(it.Err, store.ErrConflict) {
					t.Errorf("%v kept=%v err=%v", it.Outcome, it.Kept, it.Err)
				}
			})
			must(t, err)
			if tc.keep && (sum.Kept != 1 || sum.Duplicate != 1 || sum.Rejected != 0) {
				t.Errorf("summary %+v", sum)
			}
			p, err := db.Query(ctx, store.Query{Collection: other, Limit: 10})
			must(t, err)
			if len(p.Versions) != tc.rows || tc.rows == 1 && !strings.Contains(string(p.Versions[0].Body), "as first published") {
				t.Errorf("collection holds %d rows: %v", len(p.Versions), p.Versions)
			}
		})
	}
}
