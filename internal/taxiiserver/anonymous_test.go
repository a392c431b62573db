package taxiiserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// TestAnonymousSubmission: an organisation that asked to stay anonymous
// posts through TAXII; it reads its object as it sent it, every other reader
// gets the same id with the node's identity as creator, on every read path.
func TestAnonymousSubmission(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			w := newWorld(t, be)
			ctx := context.Background()
			must(t, w.db.SetOrgAnonymous(ctx, "a", true))
			must(t, w.db.SetGrant(ctx, store.Grant{Collection: w.coll["rw"], Org: "b", Read: true}))
			const id = "indicator--7a2b0c1d-0000-4000-8000-00000000a000"
			own := account.Org{ID: "a"}.IdentityID()
			obj := `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created_by_ref":"` + own + `","created":"2024-01-01T00:00:00.000Z",` +
				`"modified":"2024-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'anon.example']","pattern_type":"stix",` +
				`"valid_from":"2024-01-01T00:00:00Z","object_marking_refs":["` + stix.TLPGreen + `"]}`
			if st := w.post("alice", "rw", obj); st.SuccessCount != 1 {
				t.Fatalf("post: %+v", st)
			}
			node := account.Org{ID: account.NodeOrg}.IdentityID()
			for _, tc := range []struct{ user, want, never string }{
				{"alice", own, node},
				{"reader", own, node}, // another user of the submitting organisation
				{"bob", node, own},
			} {
				for _, u := range []string{w.objectsURL("rw"), w.objectsURL("rw") + id + "/"} {
					r := w.do(request{method: "GET", url: u, user: tc.user})
					if r.status != 200 || !strings.Contains(r.body, `"created_by_ref":"`+tc.want+`"`) || strings.Contains(r.body, tc.never) {
						t.Errorf("%s GET %s: %d %s; want created_by_ref %s", tc.user, u, r.status, r.body, tc.want)
					}
				}
			}
			// Sending it again is still a duplicate for the submitter.
			if st := w.post("alice", "rw", obj); st.SuccessCount != 1 || st.FailureCount != 0 {
				t.Errorf("post again: %+v", st)
			}
		})
	}
}
