package match

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/gaissmai/bart"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// Warninglist holds values that should never raise an alert because they
// are not threat infrastructure whatever an indicator says: private,
// reserved and documentation address space, reserved and documentation
// domain names, well-known benign values such as the hashes of the empty
// file, and values an operator adds. An indicator naming them is usually a
// mistake in a feed (a sandbox's own resolver, 10.0.0.1, example.com) and
// would alert on every network.
//
// Entries are of four kinds:
//
//   - WarnCIDR: an IPv4 or IPv6 address or block; an address or block is
//     listed when it lies inside one (IPv4-mapped IPv6 addresses are read as
//     IPv4).
//   - WarnDomain: a domain name and every name under it; names compare
//     case-insensitively, a final dot ignored.
//   - WarnHost: one host name exactly, case-insensitively.
//   - WarnValue: one exact value of any property (a hash, a file name);
//     hexadecimal values compare case-insensitively.
//
// How a value is read depends on its SCO type: ipv4-addr and ipv6-addr
// values as addresses, domain-name values as names, url values by their
// host, email-addr values by their domain. Any value is also compared with
// the WarnValue entries.
//
// The methods are safe for concurrent use. The zero value is an empty list
// ready to use.
type Warninglist struct {
	mu      sync.RWMutex
	nets    bart.Table[string]
	domains map[string]string // name → list; covers the names under it
	hosts   map[string]string
	values  map[string]string
}

// The kinds of warninglist entries.
const (
	WarnCIDR   = "cidr"
	WarnDomain = "domain"
	WarnHost   = "hostname"
	WarnValue  = "value"
)

// operatorList names the entries added through Add.
const operatorList = "operator"

// DefaultWarninglist returns a list of the special-purpose address space of
// the IANA IPv4 and IPv6 registries (RFC 6890 and its successors) and of
// the special-use and documentation domain names (RFC 2606, 6761, 6762,
// 8375, 9476), plus the hashes of the empty file. Each entry is named after
// the list it comes from.
func DefaultWarninglist() *Warninglist {
	w := &Warninglist{}
	for _, l := range defaultNets {
		for _, c := range l.blocks {
			if err := w.add(l.name, WarnCIDR, c); err != nil {
				panic(err)
			}
		}
	}
	for _, l := range defaultDomains {
		for _, d := range l.names {
			if err := w.add(l.name, WarnDomain, d); err != nil {
				panic(err)
			}
		}
	}
	for _, v := range emptyFileHashes {
		if err := w.add("empty-file", WarnValue, v); err != nil {
			panic(err)
		}
	}
	return w
}

var defaultNets = []struct {
	name   string
	blocks []string
}{
	{"this-network", []string{"0.0.0.0/8", "::/128"}},
	{"rfc1918", []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}},
	{"cgnat", []string{"100.64.0.0/10"}},
	{"loopback", []string{"127.0.0.0/8", "::1/128"}},
	{"link-local", []string{"169.254.0.0/16", "fe80::/10"}},
	{"ietf-protocol", []string{"192.0.0.0/24", "2001::/23"}},
	{"documentation", []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"}},
	{"6to4-relay", []string{"192.88.99.0/24"}},
	{"benchmarking", []string{"198.18.0.0/15", "2001:2::/48"}},
	{"multicast", []string{"224.0.0.0/4", "ff00::/8"}},
	{"reserved", []string{"240.0.0.0/4"}}, // includes the limited broadcast address
	{"unique-local", []string{"fc00::/7"}},
	{"discard-only", []string{"100::/64"}},
}

var defaultDomains = []struct {
	name  string
	names []string
}{
	{"documentation", []string{"example", "example.com", "example.net", "example.org"}},
	{"special-use", []string{"test", "invalid", "localhost", "local", "home.arpa", "alt"}},
}

var emptyFileHashes = []string{
	"d41d8cd98f00b204e9800998ecf8427e",                                 // MD5
	"da39a3ee5e6b4b0d3255bfef95601890afd80709",                         // SHA-1
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // SHA-256
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", // SHA-512
}

// Add lists a value of the given kind (WarnCIDR, WarnDomain, WarnHost or
// WarnValue) under the list name "operator". It fails on an unknown kind,
// an empty value, or an address block that does not parse.
func (w *Warninglist) Add(kind, value string) error {
	return w.add(operatorList, kind, value)
}

func (w *Warninglist) add(list, kind, value string) error {
	if value == "" {
		return fmt.Errorf("match: warninglist: empty %s", kind)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch kind {
	case WarnCIDR:
		p, ok := parsePrefix(value)
		if !ok {
			return fmt.Errorf("match: warninglist: %q is not an IP address or CIDR block", value)
		}
		w.nets.Insert(p, list)
	case WarnDomain:
		if w.domains == nil {
			w.domains = map[string]string{}
		}
		w.domains[hostKey(value)] = list
	case WarnHost:
		if w.hosts == nil {
			w.hosts = map[string]string{}
		}
		w.hosts[hostKey(value)] = list
	case WarnValue:
		if w.values == nil {
			w.values = map[string]string{}
		}
		w.values[valueKey(value)] = list
	default:
		return fmt.Errorf("match: warninglist: unknown kind %q (want %s, %s, %s or %s)", kind, WarnCIDR, WarnDomain, WarnHost, WarnValue)
	}
	return nil
}

func hostKey(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// valueKey folds hexadecimal text, in which hashes are written in either
// case, and leaves every other value as it is.
func valueKey(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return s
		}
	}
	return strings.ToLower(s)
}

// Contains reports whether the value of an SCO of type scoType is on the
// list, and the name of the list that holds it.
func (w *Warninglist) Contains(scoType, value string) (listName string, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if l, ok := w.values[valueKey(value)]; ok {
		return l, true
	}
	switch scoType {
	case "ipv4-addr", "ipv6-addr":
		return w.addr(value)
	case "domain-name":
		return w.host(value)
	case "url":
		return w.urlHost(value)
	case "email-addr":
		if i := strings.LastIndexByte(value, '@'); i >= 0 {
			return w.host(value[i+1:])
		}
	}
	return "", false
}

// containsAt is Contains for the value of a property path. A value reached
// through a reference (network-traffic:dst_ref.value) belongs to an object
// of unknown type, so it is read as an address or else a host name.
func (w *Warninglist) containsAt(typ string, steps []pattern.Step, value string) (string, bool) {
	n := len(steps)
	viaRef := n >= 2 && steps[n-1].Kind == pattern.KeyStep && steps[n-1].Key == "value" && throughRef(steps[:n-1])
	if !viaRef {
		if n == 1 && steps[0].Kind == pattern.KeyStep && steps[0].Key == "value" {
			return w.Contains(typ, value)
		}
		return w.Contains("", value)
	}
	if l, ok := w.Contains("ipv4-addr", value); ok {
		return l, true
	}
	return w.Contains("domain-name", value)
}

// throughRef reports whether steps end at an object named by a reference.
func throughRef(steps []pattern.Step) bool {
	last := steps[len(steps)-1]
	if last.Kind == pattern.KeyStep {
		return strings.HasSuffix(last.Key, "_ref")
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Kind == pattern.KeyStep {
			return strings.HasSuffix(steps[i].Key, "_refs")
		}
	}
	return false
}

// addr and the methods below are called with mu held for reading.
func (w *Warninglist) addr(value string) (string, bool) {
	p, ok := parsePrefix(value)
	if !ok {
		return "", false
	}
	return w.nets.LookupPrefix(p)
}

func (w *Warninglist) host(value string) (string, bool) {
	h := hostKey(value)
	if h == "" {
		return "", false
	}
	if l, ok := w.hosts[h]; ok {
		return l, true
	}
	for {
		if l, ok := w.domains[h]; ok {
			return l, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return "", false
		}
		h = h[i+1:]
	}
}

func (w *Warninglist) urlHost(value string) (string, bool) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" {
		// No scheme: "example.com/path".
		if u, err = url.Parse("http://" + value); err != nil {
			return "", false
		}
	}
	h := u.Hostname()
	if _, err := netip.ParseAddr(h); err == nil {
		return w.addr(h)
	}
	return w.host(h)
}

// Flag returns the values of p that are on the list, as "list: value"
// sorted and without repeats, so that an indicator can be flagged when it
// is ingested. The values considered are those an equality, IN, LIKE
// without wildcards, ISSUBSET or ISSUPERSET comparison (not negated) would
// match; a block given to ISSUBSET is flagged when it lies inside a listed
// one.
func (w *Warninglist) Flag(p *pattern.Pattern) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, o := range p.Observations() {
		for _, c := range o.Comparisons() {
			anchors, ok := comparisonAnchors(c)
			if !ok {
				continue
			}
			for _, a := range anchors {
				var v string
				switch a.kind {
				case kString:
					v = a.key
				case kSub, kSuper:
					s, _ := c.Value.(pattern.StringLit)
					v = string(s)
				default:
					continue
				}
				if l, ok := w.containsAt(c.Path.Type, canonOrSame(c.Path.Steps), v); ok {
					out = append(out, l+": "+v)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func canonOrSame(steps []pattern.Step) []pattern.Step {
	if s, ok := canonSteps(steps); ok {
		return s
	}
	return steps
}
