package stix

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// canonicalReference is the canonical form computed by the JSON library,
// against which the tree serializer is checked.
func canonicalReference(t testing.TB, raw []byte) string {
	t.Helper()
	v := jsontext.Value(append([]byte(nil), raw...))
	if err := v.Canonicalize(); err != nil {
		t.Fatalf("reference canonicalize: %v", err)
	}
	return string(v)
}

func TestAppendCanonical(t *testing.T) {
	inputs := []string{
		`{"b":1,"a":[true,false,null],"c":{"z":"","y":"\u0000\u001f\"\\\b\f\n\r\t\u2028/é😀"}}`,
		`{"n":[0,-0,1,-1,0.1,1e-6,1e-7,1.2345e-5,1e21,1.5e300,-2.5e-300,100,1e2,0.000001234,5e-324,1.7976931348623157e308,9007199254740991,333333333.33333329,1E400]}`,
		`{"\u20ac":1,"\ud83d\ude00":2,"\ufb01":3,"a":4,"\u0080":5}`,
		`{"nested":{"deep":[{"k":[[],{}]}]}}`,
	}
	for _, in := range inputs {
		tree, err := decodeStrict([]byte(in))
		if err != nil {
			if in == inputs[1] { // 1E400 is out of range by design
				continue
			}
			t.Fatalf("%s: %v", in, err)
		}
		got := string(appendCanonical(nil, tree))
		if want := canonicalReference(t, []byte(in)); got != want {
			t.Errorf("canonical of %s\n got %s\nwant %s", in, got, want)
		}
	}
	// Numbers alone, since the out-of-range member above rejects its object.
	nums := `[0,-0,1,-1,0.1,1e-6,1e-7,1.2345e-5,1e21,1.5e300,-2.5e-300,100,1e2,0.000001234,5e-324,1.7976931348623157e308,9007199254740991,333333333.33333329,4.35,0.1e1,12e-1]`
	tree, err := decodeStrict([]byte(nums))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(appendCanonical(nil, tree)), canonicalReference(t, []byte(nums)); got != want {
		t.Errorf("numbers\n got %s\nwant %s", got, want)
	}
}

// FuzzCanonical checks the tree serializer against the library's RFC 8785
// implementation on any input the strict decoder accepts.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"a":1.5,"b":"\u0001x","\ud83d\ude00":[1e21,1e-7]}`))
	for _, b := range bases {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tree, err := decodeStrict(raw)
		if err != nil {
			return
		}
		if got, want := string(appendCanonical(nil, tree)), canonicalReference(t, raw); got != want {
			t.Fatalf("canonical of %q\n got %s\nwant %s", raw, got, want)
		}
	})
}

// AppendSCOIDName is the name SCOID hashes: the same id for the same
// properties, including Go integers and bytes that are not UTF-8.
func TestAppendSCOIDName(t *testing.T) {
	tests := []struct {
		typ   string
		props map[string]any
		want  string // the name; "" when there is none
	}{
		{"ipv4-addr", map[string]any{"value": "198.51.100.7", "resolves_to_refs": []any{"x"}}, `{"value":"198.51.100.7"}`},
		{"file", map[string]any{"name": "a.exe", "size": int64(3), "hashes": map[string]any{"SHA-256": "ab", "MD5": "cd"}}, `{"hashes":{"MD5":"cd"},"name":"a.exe"}`},
		{"network-traffic", map[string]any{"src_port": int64(443), "protocols": []any{"tcp"}}, `{"protocols":["tcp"],"src_port":443}`},
		{"domain-name", map[string]any{"value": "bad \xff.example"}, `{"value":"bad ` + "\ufffd" + `.example"}`},
		{"process", map[string]any{"pid": int64(4)}, ""},
		{"url", map[string]any{}, ""},
	}
	for _, tc := range tests {
		name, ok := AppendSCOIDName([]byte("prefix"), tc.typ, tc.props)
		if got := strings.TrimPrefix(string(name), "prefix"); got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s %v: %q %v, want %q", tc.typ, tc.props, got, ok, tc.want)
			continue
		}
		id, idOK := SCOID(tc.typ, tc.props)
		if idOK != ok {
			t.Errorf("%s: SCOID ok %v", tc.typ, idOK)
		}
		if ok && id != tc.typ+"--"+uuid.NewSHA1(SCOIDNamespace, []byte(tc.want)).String() {
			t.Errorf("%s: SCOID %s does not hash the name", tc.typ, id)
		}
	}
}
