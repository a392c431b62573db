package taxii

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var (
	added = Timestamp(time.Date(2016, 2, 21, 5, 1, 1, 0, time.UTC))
	objA  = jsontext.Value(`{"type":"indicator","spec_version":"2.1","id":"` + idA + `","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-04-06T20:03:48Z"}`)
)

// goldenCases are the wire resources in a full and an empty form; the empty
// forms prove that no empty list reaches the wire.
var goldenCases = []struct {
	name string
	v    any
}{
	{"discovery", &Discovery{Title: "Setu IN node", Description: "National node", Contact: "cert@example.in",
		Default: "https://node.example.in/api/", APIRoots: []string{"https://node.example.in/api/"}}},
	{"discovery_empty", &Discovery{Title: "Setu"}},
	{"api_root", &APIRoot{Title: "Setu", Versions: []string{MediaTAXII}, MaxContentLength: 104857600}},
	{"api_root_empty", &APIRoot{Title: "Setu"}},
	{"collections", &Collections{Collections: []Collection{{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
		Title: "High Value Indicators", Description: "Shared under the bilateral agreement", Alias: "hvi",
		CanRead: true, CanWrite: false, MediaTypes: []string{MediaSTIX}}}}},
	{"collections_empty", &Collections{}},
	{"collection_empty", &Collection{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Title: "Empty", MediaTypes: []string{}}},
	{"envelope", &Envelope{More: true, Next: "token-1", Objects: []jsontext.Value{objA}}},
	{"envelope_empty", &Envelope{Objects: []jsontext.Value{}}},
	{"manifest", &Manifest{More: true, Next: "token-2", Objects: []ManifestRecord{{ID: idA, DateAdded: added,
		Version: "2016-04-06T20:03:48.000Z", MediaType: MediaSTIX}}}},
	{"manifest_empty", &Manifest{}},
	{"versions", &Versions{Versions: []string{"2016-04-06T20:03:48.000Z", "2016-04-07T20:03:48.000Z"}}},
	{"versions_empty", &Versions{Versions: []string{}}},
	{"status", &Status{ID: "2d086da7-4bdc-4f91-900e-d77486753710", Status: StatusPending, RequestTimestamp: added,
		TotalCount: 3, SuccessCount: 1, Successes: []StatusDetail{{ID: idA, Version: "2016-04-06T20:03:48.000Z"}},
		FailureCount: 1, Failures: []StatusDetail{{ID: idB, Version: "2017-01-27T13:49:53.935Z", Message: "created_by_ref cannot change"}},
		PendingCount: 1, Pendings: []StatusDetail{{ID: "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcbd", Version: "2015-12-21T19:59:11.000Z"}}}},
	{"status_empty", &Status{ID: "2d086da7-4bdc-4f91-900e-d77486753710", Status: StatusComplete, Successes: []StatusDetail{}}},
	{"error", &Error{Title: "Not Found", Description: "No collection with that id.", ErrorID: "6c1b4ba0", ErrorCode: "collection-not-found",
		HTTPStatus: "404", ExternalDetails: "https://setu.example/errors/collection-not-found",
		Details: map[string]any{"collection": "91a7b528-80eb-42ed-a74d-c6fbd5a26116", "a": 1.0}}},
	{"error_new", NewError(406, "", "")},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.v, json.Deterministic(true))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("marshal mismatch\n got: %s\nwant: %s", got, want)
			}
			if bytes.Contains(got, []byte("[]")) || bytes.Contains(got, []byte("null")) {
				t.Errorf("empty list or null on the wire: %s", got)
			}
			// Decoding the golden and encoding it again gives the same bytes.
			back := reflect.New(reflect.TypeOf(tc.v).Elem()).Interface()
			if err := json.Unmarshal(want, back); err != nil {
				t.Fatalf("unmarshal golden: %v", err)
			}
			again, err := json.Marshal(back, json.Deterministic(true))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), want) {
				t.Errorf("round trip changed bytes\n got: %s\nwant: %s", again, want)
			}
		})
	}
}

func TestErrorHTTPStatusIsString(t *testing.T) {
	b, err := json.Marshal(NewError(404, "", "no such collection"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"http_status":"404"`)) {
		t.Errorf("http_status not a string: %s", b)
	}
	var e Error
	if err := json.Unmarshal([]byte(`{"title":"x","http_status":404}`), &e); err == nil {
		t.Error("numeric http_status accepted")
	}
	var target *Error
	if !errors.As(error(NewError(403, "", "")), &target) || target.StatusCode() != 403 {
		t.Errorf("StatusCode = %d, want 403", target.StatusCode())
	}
	if got := NewError(404, "", "gone").Error(); got != "taxii: 404 Not Found: gone" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Title: "x", HTTPStatus: "abc"}).StatusCode(); got != 0 {
		t.Errorf("StatusCode of bad http_status = %d, want 0", got)
	}
}

func TestDecodeEnvelopeKeepsBytes(t *testing.T) {
	// Odd spacing, escapes and member order must survive: objects are
	// relayed and hashed as received.
	o1 := `{ "type" : "indicator", "name":"caf\u00e9", "id":"` + idA + `" }`
	o2 := `{"id":"` + idB + `","type":"malware","x":[ 1,2 ]}`
	data := []byte(`{"more":false,"objects":[` + o1 + ",\n  " + o2 + `],"x_setu_provenance":{"v":1}}`)
	env, err := DecodeEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Objects) != 2 || string(env.Objects[0]) != o1 || string(env.Objects[1]) != o2 {
		t.Fatalf("objects changed: %q", env.Objects)
	}
	for i := range data {
		data[i] = 'X' // the envelope must not alias its input
	}
	if string(env.Objects[0]) != o1 {
		t.Error("objects alias the input buffer")
	}
	if string(env.Extra["x_setu_provenance"]) != `{"v":1}` {
		t.Errorf("unknown member lost: %q", env.Extra)
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"x_setu_provenance":{"v":1}`) {
		t.Errorf("unknown member not re-encoded: %s", out)
	}
}

func TestDecodeEnvelopeRejects(t *testing.T) {
	bad := []string{
		`{"objects":[1]}`,
		`{"objects":["x"]}`,
		`{"more":true,"more":false}`,
		`{"objects":[{"a":1,"a":2}]}`,
		"{\"next\":\"\xff\"}",
		`{"more":"yes"}`,
		`[]`,
		``,
		`{"objects":[{}]} trailing`,
	}
	for _, s := range bad {
		if _, err := DecodeEnvelope([]byte(s)); err == nil {
			t.Errorf("DecodeEnvelope(%q) succeeded, want error", s)
		}
	}
}

// TestDecodeStatusFromOtherServers decodes a status resource as other
// servers write it: fewer fractional digits, members in another order, and
// a member this package does not know.
func TestDecodeStatusFromOtherServers(t *testing.T) {
	in := `{"status":"complete","id":"2d086da7-4bdc-4f91-900e-d77486753710","request_timestamp":"2016-11-02T12:34:34.12345Z",
		"total_count":2,"success_count":2,"failure_count":0,"pending_count":0,"x_vendor":true,
		"successes":[{"version":"2016-11-02T12:34:34.123Z","id":"` + idA + `","message":"ok"},{"id":"` + idB + `","version":"2016-11-02T12:34:34.123Z"}]}`
	var s Status
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2016, 11, 2, 12, 34, 34, 123450000, time.UTC)
	if !s.RequestTimestamp.Time().Equal(want) || len(s.Successes) != 2 || s.Successes[0].Message != "ok" {
		t.Errorf("decoded %+v", s)
	}
	if err := json.Unmarshal([]byte(`{"id":"x","status":"complete","request_timestamp":"2016-11-02T12:34:34+01:00"}`), &s); err == nil {
		t.Error("non-UTC request_timestamp accepted")
	}
}
