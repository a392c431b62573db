package taxii

import "testing"

func TestNegotiate(t *testing.T) {
	const legacy = "application/vnd.oasis.taxii+json;version=2.0"
	tests := []struct {
		name    string
		accept  string
		offered []string
		want    string
		ok      bool
	}{
		{"exact", "application/taxii+json;version=2.1", []string{MediaTAXII}, MediaTAXII, true},
		{"no version means 2.1", "application/taxii+json", []string{MediaTAXII}, MediaTAXII, true},
		{"other version refused", "application/taxii+json;version=2.0", []string{MediaTAXII}, "", false},
		{"quoted version", `application/taxii+json; version="2.1"`, []string{MediaTAXII}, MediaTAXII, true},
		{"case-insensitive names", "Application/TAXII+JSON; Version=2.1", []string{MediaTAXII}, MediaTAXII, true},
		{"absent header", "", []string{MediaTAXII}, MediaTAXII, true},
		{"blank header", "  ", []string{MediaTAXII}, MediaTAXII, true},
		{"any", "*/*", []string{MediaTAXII}, MediaTAXII, true},
		{"application wildcard", "application/*", []string{MediaTAXII}, MediaTAXII, true},
		{"text wildcard", "text/*", []string{MediaTAXII}, "", false},
		{"wrong type", "application/json", []string{MediaTAXII}, "", false},
		{"stix for taxii endpoint", MediaSTIX, []string{MediaTAXII}, "", false},
		{"list picks acceptable", "text/html, application/taxii+json;version=2.1", []string{MediaTAXII}, MediaTAXII, true},
		{"q zero excludes", "application/taxii+json;q=0", []string{MediaTAXII}, "", false},
		{"specific q zero beats wildcard", "*/*, application/taxii+json;version=2.1;q=0", []string{MediaTAXII}, "", false},
		{"q orders offers", "application/stix+json;q=0.5, application/taxii+json;q=0.9", []string{MediaSTIX, MediaTAXII}, MediaTAXII, true},
		{"tie keeps server order", "application/stix+json, application/taxii+json", []string{MediaSTIX, MediaTAXII}, MediaSTIX, true},
		{"wildcard q lower than specific", "application/*;q=0.2, application/taxii+json;version=2.1", []string{MediaSTIX, MediaTAXII}, MediaTAXII, true},
		{"q = 1.000", "application/taxii+json;q=1.000", []string{MediaTAXII}, MediaTAXII, true},
		{"q above one invalid member skipped", "application/taxii+json;q=1.5", []string{MediaTAXII}, "", false},
		{"q with four decimals invalid", "application/taxii+json;q=0.1234", []string{MediaTAXII}, "", false},
		{"accept-ext after q ignored", "application/taxii+json;version=2.1;q=0.8;foo=bar", []string{MediaTAXII}, MediaTAXII, true},
		{"charset disregarded", "application/taxii+json;version=2.1;charset=utf-8", []string{MediaTAXII}, MediaTAXII, true},
		{"malformed member skipped", "garbage, application/taxii+json", []string{MediaTAXII}, MediaTAXII, true},
		{"only malformed", "garbage;;==", []string{MediaTAXII}, "", false},
		{"star subtype only", "*/json", []string{MediaTAXII}, "", false},
		{"empty members", ",, application/taxii+json ,", []string{MediaTAXII}, MediaTAXII, true},
		{"comma in quoted value", `application/taxii+json;x="a,b", text/plain`, []string{MediaTAXII}, MediaTAXII, true},
		{"legacy 2.0 client", legacy, []string{MediaTAXII}, "", false},
		{"nothing offered", "*/*", nil, "", false},
		{"repeated version param invalid", "application/taxii+json;version=2.1;version=2.0", []string{MediaTAXII}, "", false},
		{"whitespace around semicolons", "application/taxii+json ; version=2.1 ; q=0.5", []string{MediaTAXII}, MediaTAXII, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Negotiate(tt.accept, tt.offered...)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Negotiate(%q, %q) = %q, %v; want %q, %v", tt.accept, tt.offered, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestContentTypeOK(t *testing.T) {
	tests := []struct {
		ct   string
		want string
		ok   bool
	}{
		{"application/taxii+json;version=2.1", MediaTAXII, true},
		{"application/taxii+json; version=2.1", MediaTAXII, true},
		{"application/taxii+json ;version=2.1", MediaTAXII, true},
		{"APPLICATION/TAXII+JSON;VERSION=2.1", MediaTAXII, true},
		{`application/taxii+json;version="2.1"`, MediaTAXII, true},
		{"application/taxii+json", MediaTAXII, true},
		{"application/taxii+json;charset=utf-8;version=2.1", MediaTAXII, true},
		{"application/taxii+json;version=2.0", MediaTAXII, false},
		{"application/taxii+json;version=2.1;version=2.0", MediaTAXII, false},
		{"application/stix+json;version=2.1", MediaTAXII, false},
		{"application/json", MediaTAXII, false},
		{"application/*", MediaTAXII, false},
		{"*/*", MediaTAXII, false},
		{"", MediaTAXII, false},
		{"application/taxii+json;version", MediaTAXII, false},
		{"application/taxii+json;version=", MediaTAXII, false},
		{`application/taxii+json;version="2.1`, MediaTAXII, false},
		{"application/taxii+json;version =2.1", MediaTAXII, false},
		{"application/taxii+json;", MediaTAXII, true},
		{"application/stix+json;version=2.1", MediaSTIX, true},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			if got := ContentTypeOK(tt.ct, tt.want); got != tt.ok {
				t.Errorf("ContentTypeOK(%q, %q) = %v, want %v", tt.ct, tt.want, got, tt.ok)
			}
		})
	}
}
