package taxiiserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/taxii"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// refClient behaves as taxii2-client's Collection.add_objects with
// wait_for_completion and python-stix2's TAXIICollectionSink.add do: POST
// the envelope, then, while the status is not complete, wait the poll
// interval (1 s by default) and ask for the status again.
type refClient struct {
	w            *world
	user         string
	pollInterval time.Duration
	polls        int
}

func (c *refClient) add(t *testing.T, alias string, objs ...string) taxii.Status {
	t.Helper()
	env := `{"objects":[` + strings.Join(objs, ",") + `]}`
	r := c.w.do(request{method: "POST", url: c.w.objectsURL(alias), user: c.user, ctype: taxii.MediaTAXII, body: env})
	if r.status != 202 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var st taxii.Status
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatal(err)
	}
	for i := 0; st.Status != taxii.StatusComplete; i++ {
		if i == 30 {
			t.Fatalf("status %s never completed", st.ID)
		}
		time.Sleep(c.pollInterval) // what the reference clients do
		c.polls++
		r := c.w.do(request{method: "GET", url: c.w.root() + "status/" + st.ID + "/", user: c.user})
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestAddCompletesWithinTheBound: a small POST is decided before the 202
// goes out, so a client that polls every second (taxii2-client,
// python-stix2) never waits; its usual flow — add, then page through the
// collection — works as with the reference server. With waiting turned off
// the same POST is answered pending and completes in the background.
func TestAddCompletesWithinTheBound(t *testing.T) {
	objs := func(from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, indicator(i, 0))
		}
		return out
	}
	t.Run("small adds complete at once", func(t *testing.T) {
		w := newWorld(t, backends()[0])
		c := &refClient{w: w, user: "alice", pollInterval: time.Second}
		for round := range 3 {
			st := c.add(t, "rw", objs(round*3, 3)...)
			if st.SuccessCount != 3 || st.PendingCount != 0 || st.TotalCount != 3 {
				t.Errorf("round %d: %+v", round, st)
			}
		}
		// A failure is in the final status too.
		st := c.add(t, "rw", indicator(100, 0), `{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000ff"}`)
		if st.SuccessCount != 1 || st.FailureCount != 1 || st.Failures[0].Message == "" {
			t.Errorf("mixed add: %+v", st)
		}
		if c.polls != 0 {
			t.Errorf("the client polled %d times (a second each)", c.polls)
		}
		// Page through what was added, two at a time, as the clients do.
		seen := 0
		for pg, err := range w.client("alice").AllObjects(t.Context(), w.root(), w.coll["rw"], taxii.Filter{Limit: 2}) {
			must(t, err)
			seen += len(pg.Envelope.Objects)
		}
		if seen != 10 {
			t.Errorf("paged %d objects, want 10", seen)
		}
	})
	t.Run("without waiting the status is pending", func(t *testing.T) {
		w := newWorld(t, backends()[0], func(c *taxiiserver.Config) { c.CompleteWithin = -1 })
		r := w.do(request{method: "POST", url: w.objectsURL("rw"), user: "alice", ctype: taxii.MediaTAXII,
			body: fmt.Sprintf(`{"objects":[%s]}`, indicator(1, 0))})
		var st taxii.Status
		if err := json.Unmarshal([]byte(r.body), &st); err != nil || r.status != 202 {
			t.Fatalf("%d %s %v", r.status, r.body, err)
		}
		if st.Status != taxii.StatusPending || st.PendingCount != 1 {
			t.Errorf("answered %+v, want pending", st)
		}
		c := &refClient{w: w, user: "alice", pollInterval: 10 * time.Millisecond}
		if st := c.add(t, "rw", indicator(2, 0)); st.SuccessCount != 1 {
			t.Errorf("%+v", st)
		}
	})
}
