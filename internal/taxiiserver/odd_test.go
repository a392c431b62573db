package taxiiserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/taxii"
)

// TestOddSubmissions posts, on every backend, bodies whose object ids and
// versions are strings a database may refuse to store as text (a NUL, a
// lone surrogate escape, very long values). The status names objects by
// what they claim to be before validation, so these reach the status rows:
// the answer must still be 202 with a status that completes, or a 400,
// never a 500.
func TestOddSubmissions(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	bodies := []string{
		`{"objects":[{"type":"indicator","id":"indicator--\u0000"}]}`,
		`{"objects":[{"type":"indicator","id":"indicator--ok","modified":"\u0000"}]}`,
		`{"objects":[{"type":"indicator","id":"indicator--\ud800"}]}`,
		`{"objects":[{"type":"\u0000","id":"x"}]}`,
		`{"objects":[{"id":"\u0000"}]}`,
		`{"objects":[{"type":"indicator","id":"` + long + `"}]}`,
		`{"objects":[{"type":"indicator","id":"indicator--a","created":"` + long + `"}]}`,
		`{"objects":[` + indicator(7, 0) + `,{"type":"indicator","id":"indicator--\u0000"}]}`,
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			w := newWorld(t, be)
			c := w.client("alice")
			for i, body := range bodies {
				r := w.do(request{method: http.MethodPost, url: w.objectsURL("rw"), user: "alice", ctype: taxii.MediaTAXII, body: body})
				switch r.status {
				case http.StatusBadRequest:
					checkError(t, r, http.StatusBadRequest)
					continue
				case http.StatusAccepted:
				default:
					t.Fatalf("body %d: status %d: %.300s", i, r.status, r.body)
				}
				var st taxii.Status
				if err := json.Unmarshal([]byte(r.body), &st); err != nil {
					t.Fatalf("body %d: %v", i, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				done, err := c.WaitStatus(ctx, w.root(), st.ID)
				cancel()
				if err != nil {
					t.Fatalf("body %d: waiting for status: %v", i, err)
				}
				if done.Status != taxii.StatusComplete || done.SuccessCount+done.FailureCount != done.TotalCount {
					t.Errorf("body %d: status %+v", i, done)
				}
			}
		})
	}
}
