package taxii

import (
	"bytes"
	"errors"
	"net/url"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

var endpoints = []Endpoint{EndpointObjects, EndpointManifest, EndpointObject, EndpointVersions, EndpointDeleteObject}

// FuzzParseFilter checks that ParseFilter never panics, fails only with
// *FilterError, and that an accepted filter survives Query and a second
// parse with the same hash.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"",
		"added_after=2016-02-21T05:01:01.000000Z&limit=10&next=abc",
		"match[id]=" + idA + "&match[type]=indicator,malware",
		"match[version]=first,last,all,2017-01-27T13:49:53.935Z&match[spec_version]=2.0,2.1",
		"limit=0", "limit=1&limit=2", "match[type]=,", "foo=bar&match[x]=y",
		"match%5Bversion%5D=2016-02-21T05:01:01.123456789Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		for _, e := range endpoints {
			flt, err := ParseFilter(q, e)
			if err != nil {
				if !errors.As(err, new(*FilterError)) {
					t.Fatalf("%v: error %v is not *FilterError", e, err)
				}
				continue
			}
			enc, err := flt.Query(e)
			if err != nil {
				t.Fatalf("%v: Query of a parsed filter: %v", e, err)
			}
			again, err := ParseFilter(enc, e)
			if err != nil {
				t.Fatalf("%v: reparse of %q: %v", e, enc.Encode(), err)
			}
			if flt.Hash() != again.Hash() || flt.Limit != again.Limit || flt.Next != again.Next {
				t.Fatalf("%v: round trip changed the filter: %+v vs %+v", e, flt, again)
			}
		}
	})
}

// FuzzNegotiate checks that Negotiate never panics and only ever returns
// one of the offered types.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "application/taxii+json", "application/taxii+json;version=2.1;q=0.5, */*;q=0.1",
		`application/taxii+json;x="a,\"b"`, "text/html;q=1.0001", "application/*;q=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got, ok := Negotiate(accept, MediaTAXII, MediaSTIX)
		if ok != (got != "") || (ok && got != MediaTAXII && got != MediaSTIX) {
			t.Fatalf("Negotiate(%q) = %q, %v", accept, got, ok)
		}
		ContentTypeOK(accept, MediaTAXII)
	})
}

// FuzzEnvelope checks that DecodeEnvelope never panics and that an accepted
// envelope encodes and decodes back to the same objects.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"more":true,"next":"n","objects":[{"type":"indicator"}]}`,
		`{}`, `{"objects":[]}`, `{"objects":[1]}`, `{"more":false,"x_other":[1,{"a":null}]}`,
		`{"objects":[{"a":"\u00e9\ud83d\ude00"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := DecodeEnvelope(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeEnvelope(out)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", out, err)
		}
		if back.More != env.More || back.Next != env.Next || len(back.Objects) != len(env.Objects) {
			t.Fatalf("round trip changed the envelope: %s", out)
		}
		for i := range env.Objects {
			a, b := env.Objects[i].Clone(), back.Objects[i].Clone()
			if err := a.Canonicalize(); err != nil {
				continue
			}
			if err := b.Canonicalize(); err != nil || !bytes.Equal(a, b) {
				t.Fatalf("object %d changed: %s vs %s", i, env.Objects[i], back.Objects[i])
			}
		}
	})
}

// TestEnvelopeMarshalKeepsCanonicalBytes pins what the server relies on:
// objects already in canonical form (RFC 8785), as Setu stores them, are
// written byte for byte.
func TestEnvelopeMarshalKeepsCanonicalBytes(t *testing.T) {
	objs := []jsontext.Value{
		jsontext.Value(`{"a":"caf` + "\u00e9" + `","b":"line\nbreak\u001f","c":1e+21,"d":[1.5,-0,true,null]}`),
		objA,
	}
	out, err := json.Marshal(Envelope{Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"more":false,"objects":[` + string(objs[0]) + "," + string(objA) + `]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}
