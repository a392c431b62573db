package restapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

type markingOut struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	Meaning    string         `json:"meaning"`
	Definition jsontext.Value `json:"definition"`
}

type importNoteOut struct {
	Number   int      `json:"number"`
	Line     int      `json:"line,omitempty"`
	ID       string   `json:"id,omitempty"`
	Outcome  string   `json:"outcome"`
	Kept     bool     `json:"kept,omitempty"`
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

type importOut struct {
	Collection string          `json:"collection"`
	Added      int             `json:"added"`
	Duplicate  int             `json:"duplicate"`
	Kept       int             `json:"kept"`
	Rejected   int             `json:"rejected"`
	Warnings   int             `json:"warnings"`
	Objects    []importNoteOut `json:"objects"`
	Truncated  bool            `json:"truncated,omitempty"`
}

const markingsID = "0d3b1c36-2f4c-4c7e-9a55-6f1d2b8e0a02"

func withMarkings(t *testing.T) *world {
	w := newWorld(t)
	ctx := context.Background()
	must(t, w.db.CreateCollection(ctx, store.Collection{ID: markingsID, Alias: "markings", Title: "Markings"}))
	must(t, w.db.SetGrant(ctx, store.Grant{Collection: markingsID, Org: store.AnyOrg, Read: true}))
	must(t, w.db.CreateGroup(ctx, store.Group{ID: "g-energy", Name: "Energy"}))
	return w
}

// TestMarkingsAPI: a user creates the Setu distribution markings it needs
// by name and lists what the node knows; bad requests say why.
func TestMarkingsAPI(t *testing.T) {
	w := withMarkings(t)
	for _, tc := range []struct {
		user, body string
		status     int
		id         string
		kind       string
	}{
		{"alice", `{"recipients":["org:b","user:alice"]}`, 200, policy.Distribution{Recipients: []string{"org:b", "user:alice"}}.MarkingID(), "recipients"},
		{"alice", `{"group":"g-energy"}`, 200, policy.Distribution{Scope: policy.ScopeGroup, Group: "g-energy"}.MarkingID(), "group"},
		{"bob", `{"resident":"jp"}`, 200, policy.Distribution{Resident: "JP"}.MarkingID(), "residency"},
		{"bob", `{"scope":"partners"}`, 200, policy.Distribution{Scope: policy.ScopePartners}.MarkingID(), "distribution"},
		{"bob", `{"group":"g-none"}`, 400, "", ""},
		{"bob", `{"scope":"partners","resident":"JP"}`, 400, "", ""},
		{"bob", `{"recipients":["alice"]}`, 400, "", ""},
		{"reader", `{"scope":"partners"}`, 403, "", ""},
	} {
		t.Run(tc.user+" "+tc.body, func(t *testing.T) {
			r := w.do(call{method: "POST", path: "markings", user: tc.user, body: tc.body})
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != 200 {
				return
			}
			m := decode[markingOut](t, r)
			if m.ID != tc.id || m.Kind != tc.kind || !strings.Contains(string(m.Definition), tc.id) {
				t.Errorf("%+v", m)
			}
		})
	}
	got := decode[struct {
		Markings []markingOut `json:"markings"`
	}](t, w.do(call{method: "GET", path: "markings", user: "reader"}))
	if len(got.Markings) != 4 {
		t.Errorf("reader lists %d markings, want 4: %+v", len(got.Markings), got.Markings)
	}
}

// TestImportAPI: the management API imports STIX into a collection the
// caller may write, with tlp and share assigning handling, and answers
// what happened to every object that needs a look.
func TestImportAPI(t *testing.T) {
	w := withMarkings(t)
	ctx := context.Background()
	must(t, w.db.SetGrant(ctx, store.Grant{Collection: collID, Org: "a", Read: true, Write: true}))
	must(t, w.db.SetGrant(ctx, store.Grant{Collection: collID, Org: "b", Read: true}))
	ind := func(n int, extra string) string {
		return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z",`+
			`"modified":"2024-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'x%d.example.org']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"%s}`, n, n, extra)
	}
	bundle := `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[` + strings.Join([]string{
		ind(1, ""), ind(2, `,"object_marking_refs":["marking-definition--00000000-0000-4000-8000-0000000000ff"]`), `{"type":"indicator"}`,
	}, ",\n") + `]}`
	r := w.do(call{method: "POST", path: "collections/shared/objects?tlp=amber&share=partners", user: "alice", body: bundle})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := decode[importOut](t, r)
	if got.Added != 2 || got.Rejected != 1 || got.Warnings != 1 || len(got.Objects) != 2 ||
		got.Objects[0].Number != 2 || got.Objects[0].Line != 2 || len(got.Objects[0].Warnings) != 1 ||
		got.Objects[1].Number != 3 || got.Objects[1].Outcome != "rejected" {
		t.Errorf("%+v", got)
	}
	// The handling assigned: AMBER shared with partners.
	v, err := w.db.Current(ctx, "indicator--00000001-0000-4000-8000-000000000000")
	must(t, err)
	f := policy.DecodeFacts(v.Facts, v.Submitter)
	if d := (policy.Config{}).Decide(policy.Reader{Peer: "jp"}, f); !d.Allow {
		t.Errorf("a partner is refused the object shared with partners: %+v", d)
	}
	if strings.Contains(string(v.Body), "marking") {
		t.Errorf("object changed: %s", v.Body)
	}
	for _, tc := range []struct {
		user, path string
		status     int
	}{
		{"bob", "collections/shared/objects", http.StatusForbidden}, // may read, not write
		{"alice", "collections/no-such/objects", http.StatusNotFound},
		{"reader", "collections/shared/objects", http.StatusForbidden},
		{"alice", "collections/shared/objects?tlp=purple", http.StatusBadRequest},
		{"alice", "collections/shared/objects?share=group:g-none", http.StatusBadRequest},
		{"alice", "collections/shared/objects?on_conflict=replace", http.StatusBadRequest},
	} {
		if r := w.do(call{method: "POST", path: tc.path, user: tc.user, body: ind(9, "")}); r.status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.user, tc.path, r.status, r.body, tc.status)
		}
	}
	// A collection the caller can neither read nor write is not there.
	must(t, w.db.CreateCollection(ctx, store.Collection{ID: "0d3b1c36-2f4c-4c7e-9a55-6f1d2b8e0a03", Alias: "private", Title: "P"}))
	if r := w.do(call{method: "POST", path: "collections/private/objects", user: "bob", body: ind(9, "")}); r.status != http.StatusNotFound {
		t.Errorf("hidden collection: %d %s", r.status, r.body)
	}
}
