package match

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

func TestDefaultWarninglist(t *testing.T) {
	w := DefaultWarninglist()
	for _, tt := range []struct {
		typ, value, list string // list "" means not listed
	}{
		{"ipv4-addr", "10.1.2.3", "rfc1918"},
		{"ipv4-addr", "172.16.0.1", "rfc1918"},
		{"ipv4-addr", "172.32.0.1", ""},
		{"ipv4-addr", "192.168.255.255", "rfc1918"},
		{"ipv4-addr", "127.0.0.1", "loopback"},
		{"ipv4-addr", "169.254.10.1", "link-local"},
		{"ipv4-addr", "100.64.0.1", "cgnat"},
		{"ipv4-addr", "100.128.0.1", ""},
		{"ipv4-addr", "192.0.2.7", "documentation"},
		{"ipv4-addr", "198.51.100.7", "documentation"},
		{"ipv4-addr", "203.0.113.7", "documentation"},
		{"ipv4-addr", "198.18.5.5", "benchmarking"},
		{"ipv4-addr", "224.0.0.251", "multicast"},
		{"ipv4-addr", "255.255.255.255", "reserved"},
		{"ipv4-addr", "0.0.0.0", "this-network"},
		{"ipv4-addr", "8.8.8.8", ""},
		{"ipv4-addr", "10.0.0.0/8", "rfc1918"},
		{"ipv4-addr", "10.0.0.0/7", ""}, // larger than the listed block
		{"ipv4-addr", "::ffff:10.0.0.1", "rfc1918"},
		{"ipv4-addr", "not an address", ""},
		{"ipv6-addr", "::1", "loopback"},
		{"ipv6-addr", "fe80::1", "link-local"},
		{"ipv6-addr", "fd12:3456::1", "unique-local"},
		{"ipv6-addr", "2001:db8::1", "documentation"},
		{"ipv6-addr", "3fff::1", "documentation"},
		{"ipv6-addr", "ff02::1", "multicast"},
		{"ipv6-addr", "2a00:1450::1", ""},
		{"domain-name", "example.com", "documentation"},
		{"domain-name", "www.EXAMPLE.org.", "documentation"},
		{"domain-name", "foo.example", "documentation"},
		{"domain-name", "example.com.evil.net", ""},
		{"domain-name", "notexample.com", ""},
		{"domain-name", "host.test", "special-use"},
		{"domain-name", "a.b.invalid", "special-use"},
		{"domain-name", "localhost", "special-use"},
		{"domain-name", "printer.local", "special-use"},
		{"domain-name", "router.home.arpa", "special-use"},
		{"domain-name", "evil.com", ""},
		{"url", "http://www.example.com/x", "documentation"},
		{"url", "https://192.168.1.1:8443/login", "rfc1918"},
		{"url", "http://[2001:db8::1]/", "documentation"},
		{"url", "example.net/path", "documentation"},
		{"url", "http://evil.com/", ""},
		{"email-addr", "jdoe@example.com", "documentation"},
		{"email-addr", "jdoe@evil.com", ""},
		{"file", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "empty-file"},
		{"file", "d41d8cd98f00b204e9800998ecf8427e", "empty-file"},
		// Address lists apply to address values, not to any string.
		{"file", "10.0.0.1", ""},
		{"domain-name", "10.0.0.1", ""},
	} {
		t.Run(tt.typ+" "+tt.value, func(t *testing.T) {
			list, ok := w.Contains(tt.typ, tt.value)
			if ok != (tt.list != "") || list != tt.list {
				t.Errorf("Contains = %q, %v; want %q", list, ok, tt.list)
			}
		})
	}
}

func TestWarninglistAdd(t *testing.T) {
	var w Warninglist // the zero value is usable
	for _, tt := range []struct {
		kind, value string
		bad         bool
	}{
		{WarnCIDR, "203.0.113.0/24", false},
		{WarnCIDR, "2001:db8:1::/48", false},
		{WarnCIDR, "9.9.9.9", false},
		{WarnDomain, "Corp.Example.", false},
		{WarnHost, "mail.partner.in", false},
		{WarnValue, "ABCDEF0123", false},
		{WarnValue, "setup.exe", false},
		{WarnCIDR, "10.0.0.0/33", true},
		{WarnCIDR, "nope", true},
		{"domains", "x.com", true},
		{WarnDomain, "", true},
	} {
		if err := w.Add(tt.kind, tt.value); (err != nil) != tt.bad {
			t.Errorf("Add(%q, %q) = %v, want error %v", tt.kind, tt.value, err, tt.bad)
		}
	}
	for _, tt := range []struct {
		typ, value string
		ok         bool
	}{
		{"ipv4-addr", "203.0.113.9", true},
		{"ipv4-addr", "9.9.9.9", true},
		{"ipv4-addr", "9.9.9.8", false},
		{"ipv6-addr", "2001:db8:1::5", true},
		{"ipv6-addr", "2001:db8:2::5", false},
		{"domain-name", "a.corp.example", true},
		{"domain-name", "corp.example", true},
		{"domain-name", "mail.partner.in", true},
		{"domain-name", "www.mail.partner.in", false},
		{"domain-name", "partner.in", false},
		{"file", "abcdef0123", true},
		{"file", "setup.exe", true},
		{"file", "SETUP.EXE", false},
	} {
		list, ok := w.Contains(tt.typ, tt.value)
		if ok != tt.ok || ok && list != "operator" {
			t.Errorf("Contains(%q, %q) = %q, %v; want %v", tt.typ, tt.value, list, ok, tt.ok)
		}
	}
}

func TestWarninglistFlag(t *testing.T) {
	w := DefaultWarninglist()
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"[ipv4-addr:value = '10.0.0.1']", []string{"rfc1918: 10.0.0.1"}},
		{"[ipv4-addr:value = '8.8.8.8']", nil},
		{"[ipv4-addr:value ISSUBSET '192.168.0.0/24']", []string{"rfc1918: 192.168.0.0/24"}},
		{"[ipv4-addr:value ISSUBSET '0.0.0.0/0']", nil},
		{"[ipv4-addr:value NOT = '10.0.0.1']", nil},
		{"[domain-name:value IN ('evil.com', 'www.example.com', 'x.test')]",
			[]string{"documentation: www.example.com", "special-use: x.test"}},
		{"[url:value = 'http://localhost:8080/a'] OR [email-addr:value = 'a@example.org']",
			[]string{"documentation: a@example.org", "special-use: http://localhost:8080/a"}},
		{"[network-traffic:dst_ref.value = '127.0.0.1' AND network-traffic:dst_port = 80]", []string{"loopback: 127.0.0.1"}},
		{"[network-traffic:dst_ref.value = 'intranet.local']", []string{"special-use: intranet.local"}},
		{"[file:name = 'x.test']", nil},
		{"[file:hashes.sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
			[]string{"empty-file: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"[domain-name:value LIKE '%.example.com']", nil},
		{"[domain-name:value = 'example.com'] AND [domain-name:value = 'example.com']", []string{"documentation: example.com"}},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			if d := cmp.Diff(tt.want, w.Flag(pattern.MustParse(tt.pattern))); d != "" {
				t.Errorf("Flag (-want +got):\n%s", d)
			}
		})
	}
	if got := w.Flag(nil); got != nil {
		t.Errorf("Flag(nil) = %v", got)
	}
}

// TestWarninglistConcurrent adds while others read; run it with -race.
func TestWarninglistConcurrent(t *testing.T) {
	w := DefaultWarninglist()
	ix := NewIndex(WithWarninglist(w))
	ix.Update([]Indicator{{ID: "a", Pattern: "[ipv4-addr:value ISSUBSET '0.0.0.0/0']"}}, nil)
	p, err := ix.Property("ipv4-addr", "value")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if err := w.Add(WarnCIDR, fmt.Sprintf("11.0.%d.0/24", i)); err != nil {
				t.Error(err)
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 200 {
				w.Contains("ipv4-addr", "11.0.3.3")
				if got := ix.Lookup(nil, p, "10.0.0.1", t0); len(got) != 0 {
					t.Errorf("private address found %v", got)
				}
			}
		})
	}
	wg.Wait()
	if got := ix.Lookup(nil, p, "11.0.199.1", t0); len(got) != 0 {
		t.Errorf("address added to the list found %v", got)
	}
}
