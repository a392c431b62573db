package taxii

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	idA = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	idB = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
)

var filterCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}

func TestParseFilterValid(t *testing.T) {
	t1 := time.Date(2016, 2, 21, 5, 1, 1, 0, time.UTC)
	t2 := time.Date(2017, 1, 27, 13, 49, 53, 935000000, time.UTC)
	tests := []struct {
		name  string
		query string
		ep    Endpoint
		want  Filter
	}{
		{"empty defaults to last", "", EndpointObjects, Filter{Versions: VersionMatch{Last: true}}},
		{"all fields", "added_after=2016-02-21T05:01:01.000000Z&limit=10&next=abc&match[id]=" + idA + "," + idB +
			"&match[type]=indicator,malware&match[version]=all&match[spec_version]=2.0,2.1", EndpointObjects,
			Filter{AddedAfter: t1, Limit: 10, Next: "abc", IDs: []string{idA, idB}, Types: []string{"indicator", "malware"},
				SpecVersions: []string{"2.0", "2.1"}, Versions: VersionMatch{All: true}}},
		{"escaped brackets", "match%5Btype%5D=indicator", EndpointManifest,
			Filter{Types: []string{"indicator"}, Versions: VersionMatch{Last: true}}},
		{"version keywords and timestamps", "match[version]=first,last,2017-01-27T13:49:53.935Z,2016-02-21T05:01:01Z", EndpointObject,
			Filter{Versions: VersionMatch{First: true, Last: true, At: []time.Time{t2, t1}}}},
		{"repeated list items collapse", "match[type]=indicator,indicator,malware", EndpointObjects,
			Filter{Types: []string{"indicator", "malware"}, Versions: VersionMatch{Last: true}}},
		{"blanks around items trimmed", "match[type]=indicator,%20malware", EndpointObjects,
			Filter{Types: []string{"indicator", "malware"}, Versions: VersionMatch{Last: true}}},
		{"unknown ignored", "foo=1&match[color]=red&Limit=5&limit=3", EndpointObjects,
			Filter{Limit: 3, Versions: VersionMatch{Last: true}, Ignored: []string{"Limit", "foo", "match[color]"}}},
		{"repeated unknown ignored", "foo=1&foo=2", EndpointObjects,
			Filter{Versions: VersionMatch{Last: true}, Ignored: []string{"foo"}}},
		{"versions endpoint has no version default", "match[spec_version]=2.1&limit=1&added_after=2016-02-21T05:01:01Z&next=n", EndpointVersions,
			Filter{SpecVersions: []string{"2.1"}, Limit: 1, AddedAfter: t1, Next: "n"}},
		{"delete without version selects all", "", EndpointDeleteObject, Filter{}},
		{"delete with version", "match[version]=2016-02-21T05:01:01Z", EndpointDeleteObject,
			Filter{Versions: VersionMatch{At: []time.Time{t1}}}},
		{"custom type", "match[type]=x-acme-widget", EndpointObjects,
			Filter{Types: []string{"x-acme-widget"}, Versions: VersionMatch{Last: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(q, tt.ep)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, filterCmp...); diff != "" {
				t.Errorf("ParseFilter(%q) mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		name  string
		query string
		ep    Endpoint
		param string
	}{
		{"limit zero", "limit=0", EndpointObjects, "limit"},
		{"limit negative", "limit=-1", EndpointObjects, "limit"},
		{"limit plus sign", "limit=%2B5", EndpointObjects, "limit"},
		{"limit not integer", "limit=ten", EndpointObjects, "limit"},
		{"limit fraction", "limit=1.5", EndpointObjects, "limit"},
		{"limit overflow", "limit=99999999999999999999999", EndpointObjects, "limit"},
		{"limit empty", "limit=", EndpointObjects, "limit"},
		{"limit repeated", "limit=1&limit=2", EndpointObjects, "limit"},
		{"added_after bad", "added_after=yesterday", EndpointObjects, "added_after"},
		{"added_after offset", "added_after=2016-02-21T05:01:01%2B00:00", EndpointObjects, "added_after"},
		{"added_after repeated", "added_after=2016-02-21T05:01:01Z&added_after=2016-02-21T05:01:01Z", EndpointObjects, "added_after"},
		{"next empty", "next=", EndpointObjects, "next"},
		{"next too long", "next=" + strings.Repeat("a", maxNextLen+1), EndpointObjects, "next"},
		{"type uppercase", "match[type]=Indicator", EndpointObjects, "match[type]"},
		{"type too short", "match[type]=ab", EndpointObjects, "match[type]"},
		{"type double hyphen", "match[type]=x--y", EndpointObjects, "match[type]"},
		{"type trailing comma", "match[type]=indicator,", EndpointObjects, "match[type]"},
		{"type repeated param", "match[type]=indicator&match[type]=malware", EndpointObjects, "match[type]"},
		{"id without uuid", "match[id]=indicator--1234", EndpointObjects, "match[id]"},
		{"id without separator", "match[id]=indicator", EndpointObjects, "match[id]"},
		{"id braces uuid", "match[id]=indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}", EndpointObjects, "match[id]"},
		{"id nil uuid", "match[id]=indicator--00000000-0000-0000-0000-000000000000", EndpointObjects, "match[id]"},
		{"id bad type", "match[id]=IND--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", EndpointObjects, "match[id]"},
		{"version word", "match[version]=latest", EndpointObjects, "match[version]"},
		{"version uppercase", "match[version]=Last", EndpointObjects, "match[version]"},
		{"version bad timestamp", "match[version]=2016-02-21", EndpointObjects, "match[version]"},
		{"spec_version word", "match[spec_version]=two", EndpointObjects, "match[spec_version]"},
		{"spec_version major only", "match[spec_version]=2", EndpointObjects, "match[spec_version]"},
		{"spec_version three parts", "match[spec_version]=2.1.1", EndpointObjects, "match[spec_version]"},
		{"object endpoint refuses id", "match[id]=" + idA, EndpointObject, "match[id]"},
		{"object endpoint refuses type", "match[type]=indicator", EndpointObject, "match[type]"},
		{"versions endpoint refuses version", "match[version]=all", EndpointVersions, "match[version]"},
		{"versions endpoint refuses type", "match[type]=indicator", EndpointVersions, "match[type]"},
		{"versions endpoint refuses id", "match[id]=" + idA, EndpointVersions, "match[id]"},
		{"delete refuses added_after", "added_after=2016-02-21T05:01:01Z", EndpointDeleteObject, "added_after"},
		{"delete refuses limit", "limit=1", EndpointDeleteObject, "limit"},
		{"delete refuses next", "next=x", EndpointDeleteObject, "next"},
		{"too many values", "match[type]=" + strings.TrimSuffix(strings.Repeat("abc,", maxMatchValues+1), ","), EndpointObjects, "match[type]"},
		{"first error in name order", "match[type]=A&limit=0", EndpointObjects, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseFilter(q, tt.ep)
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFilter(%q) error = %v, want *FilterError", tt.query, err)
			}
			if fe.Param != tt.param {
				t.Errorf("FilterError.Param = %q, want %q (%v)", fe.Param, tt.param, fe)
			}
			if !strings.Contains(fe.Error(), tt.param) {
				t.Errorf("error %q does not name %s", fe.Error(), tt.param)
			}
		})
	}
}

func TestParseFilterUnknownEndpoint(t *testing.T) {
	if _, err := ParseFilter(url.Values{}, Endpoint(0)); err == nil {
		t.Fatal("want error for the zero Endpoint")
	}
}

func TestFilterHash(t *testing.T) {
	parse := func(s string) Filter {
		t.Helper()
		q, err := url.ParseQuery(s)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFilter(q, EndpointObjects)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	same := [][2]string{
		{"match[type]=indicator,malware", "match[type]=malware,indicator"},
		{"match[type]=indicator&limit=5", "match[type]=indicator&limit=500"},
		{"match[type]=indicator&next=a", "match[type]=indicator&next=b"},
		{"", "match[version]=last"},
		{"match[version]=2016-02-21T05:01:01Z", "match[version]=2016-02-21T05:01:01.000Z"},
		{"added_after=2016-02-21T05:01:01Z", "added_after=2016-02-21T05:01:01.000000Z"},
		{"foo=1", "bar=2"},
	}
	for _, p := range same {
		if a, b := parse(p[0]).Hash(), parse(p[1]).Hash(); a != b {
			t.Errorf("Hash(%q) != Hash(%q)", p[0], p[1])
		}
	}
	differ := [][2]string{
		{"match[type]=indicator", "match[type]=malware"},
		{"match[type]=indicator", "match[id]=" + idA},
		{"", "match[version]=all"},
		{"", "added_after=2016-02-21T05:01:01Z"},
		{"added_after=2016-02-21T05:01:01Z", "added_after=2016-02-21T05:01:01.000001Z"},
		{"match[spec_version]=2.1", "match[spec_version]=2.0"},
		{"match[version]=first", "match[version]=first,last"},
	}
	for _, p := range differ {
		if a, b := parse(p[0]).Hash(), parse(p[1]).Hash(); a == b {
			t.Errorf("Hash(%q) == Hash(%q)", p[0], p[1])
		}
	}
	if h := (Filter{}).Hash(); h != (Filter{Versions: VersionMatch{Last: true}}).Hash() {
		t.Error("zero VersionMatch should hash as last")
	}
}

func TestFilterQueryRoundTrip(t *testing.T) {
	f := Filter{
		AddedAfter:   time.Date(2016, 2, 21, 5, 1, 1, 1, time.UTC),
		Limit:        7,
		Next:         "tok,en",
		IDs:          []string{idA},
		Types:        []string{"indicator", "malware"},
		SpecVersions: []string{"2.1"},
		Versions:     VersionMatch{First: true, At: []time.Time{time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	q, err := f.Query(EndpointObjects)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseFilter(q, EndpointObjects)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back, filterCmp...); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}

	if _, err := (Filter{Types: []string{"indicator"}}).Query(EndpointObject); err == nil {
		t.Error("Query: match[type] on the object endpoint should fail")
	}
	if _, err := (Filter{Limit: -1}).Query(EndpointObjects); err == nil {
		t.Error("Query: negative limit should fail")
	}
	if q, err := (Filter{}).Query(EndpointDeleteObject); err != nil || len(q) != 0 {
		t.Errorf("zero Filter Query = %v, %v; want no parameters", q, err)
	}
}

func TestParseFilterHandBuiltValues(t *testing.T) {
	_, err := ParseFilter(url.Values{"limit": nil}, EndpointObjects)
	var fe *FilterError
	if !errors.As(err, &fe) || fe.Reason != "empty value" {
		t.Errorf("limit without values: %v, want empty value error", err)
	}
}
