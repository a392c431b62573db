package event

import (
	"crypto/sha1"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix"
)

// scoNamespace is the UUIDv5 namespace STIX 2.1 fixes for deterministic
// SCO identifiers (part 2.9).
var scoNamespace = [16]byte(stix.SCOIDNamespace)

// eventNamespace is Setu's UUIDv5 namespace for the identifiers this
// package derives itself: observations (from an event's raw bytes) and
// SCOs of types without identifier-contributing properties.
var eventNamespace = [16]byte{0xbb, 0xc2, 0x66, 0xad, 0x58, 0x38, 0x44, 0xc0, 0xb5, 0x58, 0xd3, 0xd6, 0xb8, 0xcf, 0x46, 0xcb}

// appendID appends typ--UUIDv5(ns, name) to dst.
func appendID(dst []byte, typ string, ns *[16]byte, name []byte, scratch []byte) ([]byte, []byte) {
	scratch = append(append(scratch[:0], ns[:]...), name...)
	sum := sha1.Sum(scratch)
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	const hexDigits = "0123456789abcdef"
	dst = append(dst, typ...)
	dst = append(dst, "--"...)
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[sum[i]>>4], hexDigits[sum[i]&0xf])
	}
	return dst, scratch
}

// builder collects one event's observables. Objects with the same id are
// one object, since the id derives from what identifies it: the first
// added is kept and gains the properties later ones add (a CNAME target
// seen first as an answer, then with its own addresses).
type builder struct {
	objs    []match.Object
	index   map[string]int // by id, once there are many objects
	canon   []byte
	scratch []byte
	id      []byte
	// known remembers the ids of recent address and name objects by
	// their canonical form: a stream names the same hosts again and
	// again, and hashing is most of an object's cost.
	known map[string]string
	key   []byte
	// boxed holds the type names as interface values made once, since
	// every object stores its type and boxing a string allocates.
	boxed map[string]any
}

// maxKnown bounds builder.known; it starts afresh when full.
const maxKnown = 8192

// cachedTypes are the types whose ids builder.known keeps.
var cachedTypes = map[string]bool{
	"ipv4-addr": true, "ipv6-addr": true, "domain-name": true, "mac-addr": true, "email-addr": true,
}

func (b *builder) reset() {
	b.objs = make([]match.Object, 0, 8)
	b.index = nil
}

// add computes the object's id, records the object unless one with that
// id is present, and returns the id. props gains "type" and "id".
func (b *builder) add(typ string, props map[string]any) string {
	ns := &scoNamespace
	var known bool
	b.canon, known = stix.AppendSCOIDName(b.canon[:0], typ, props)
	if !known {
		// The specification would have a random UUIDv4 here; a hash of
		// the whole object keeps equal objects equal instead.
		ns = &eventNamespace
		b.canon = stix.AppendCanonical(b.canon[:0], props)
	}
	cache := ns == &scoNamespace && cachedTypes[typ]
	var id string
	if cache {
		// The type is part of the key: one text can be the value of a
		// domain-name and of an email-addr.
		b.key = append(append(append(b.key[:0], typ...), 0), b.canon...)
		id = b.known[string(b.key)]
	}
	if id == "" {
		b.id, b.scratch = appendID(b.id[:0], typ, ns, b.canon, b.scratch)
		id = string(b.id)
		if cache {
			if b.known == nil || len(b.known) >= maxKnown {
				b.known = make(map[string]string, maxKnown)
			}
			b.known[string(b.key)] = id
		}
	}
	if i, ok := b.lookup(id); ok {
		merge(b.objs[i].Props, props)
		return b.objs[i].Ref
	}
	t, ok := b.boxed[typ]
	if !ok {
		if b.boxed == nil {
			b.boxed = map[string]any{}
		}
		t = typ
		b.boxed[typ] = t
	}
	props["type"] = t
	props["id"] = id
	b.objs = append(b.objs, match.Object{Ref: id, Type: typ, Props: props})
	if b.index != nil {
		b.index[id] = len(b.objs) - 1
	} else if len(b.objs) > 16 {
		b.index = make(map[string]int, 2*len(b.objs))
		for i, o := range b.objs {
			if _, dup := b.index[o.Ref]; !dup {
				b.index[o.Ref] = i
			}
		}
	}
	return id
}

func (b *builder) lookup(id string) (int, bool) {
	if b.index != nil {
		i, ok := b.index[id]
		return i, ok
	}
	for i := range b.objs {
		if b.objs[i].Ref == id {
			return i, true
		}
	}
	return 0, false
}

// addAddr adds an ipv4-addr or ipv6-addr object for s and returns its id,
// or "" when s is not an IP address or CIDR block.
func (b *builder) addAddr(s string) string {
	t := addrType(s)
	if t == "" {
		return ""
	}
	return b.add(t, map[string]any{"value": s})
}

// addValue adds an object whose identity is its value (domain-name, url,
// email-addr...). An empty value adds nothing.
func (b *builder) addValue(typ, s string) string {
	if s == "" {
		return ""
	}
	return b.add(typ, map[string]any{"value": s})
}

// observation finishes the event: the id is a UUIDv5 of its raw bytes.
func (b *builder) observation(raw []byte, first, last time.Time, count int64) match.Observation {
	b.id, b.scratch = appendID(b.id[:0], "observed-data", &eventNamespace, raw, b.scratch)
	return match.NewObservation(string(b.id), first, last, count, b.objs)
}

// merge adds to dst the properties of src it lacks, and the ids of src's
// reference lists that dst's lists lack.
func merge(dst, src map[string]any) {
	for k, v := range src {
		have, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		if !strings.HasSuffix(k, "_refs") {
			continue
		}
		hl, ok1 := have.([]any)
		sl, ok2 := v.([]any)
		if !ok1 || !ok2 {
			continue
		}
		for _, id := range sl {
			if !slices.Contains(hl, id) {
				hl = append(hl, id)
			}
		}
		dst[k] = hl
	}
}

// addrType tells ipv4-addr from ipv6-addr for an address or CIDR block;
// it returns "" for anything else.
func addrType(s string) string {
	if s == "" {
		return ""
	}
	var a netip.Addr
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return ""
		}
		a = p.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return ""
		}
	}
	if a.Is4() {
		return "ipv4-addr"
	}
	return "ipv6-addr"
}

// macAddr returns s in the form STIX requires for mac-addr values (lower
// case, colon-separated octets), or "" when s is not a MAC-48 address.
func macAddr(s string) string {
	if len(s) != 17 {
		return ""
	}
	b := []byte(strings.ToLower(s))
	for i := 0; i < 17; i++ {
		c := b[i]
		if i%3 == 2 {
			if c != ':' && c != '-' {
				return ""
			}
			b[i] = ':'
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	return string(b)
}

// hostLike reports whether s reads as a DNS host name with at least two
// labels: what a DNS answer that is not an address usually holds (a CNAME
// target), unlike TXT or MX text.
func hostLike(s string) bool {
	if len(s) < 3 || len(s) > 253 || strings.IndexByte(s, '.') <= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// hashName names a hex digest by its length, for logs that give a
// fingerprint without saying which algorithm made it.
func hashName(hexDigest string) string {
	for i := 0; i < len(hexDigest); i++ {
		c := hexDigest[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return ""
		}
	}
	switch len(hexDigest) {
	case 32:
		return "MD5"
	case 40:
		return "SHA-1"
	case 64:
		return "SHA-256"
	case 128:
		return "SHA-512"
	}
	return ""
}

// strList turns strings into the []any lists of decoded JSON.
func strList(s ...string) []any {
	l := make([]any, len(s))
	for i, v := range s {
		l[i] = v
	}
	return l
}

// protocols builds network-traffic protocols, outermost first, lower
// case, without empty or repeated names.
func protocols(names ...string) []any {
	var l []any
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || n == "-" || slices.Contains(l, any(n)) {
			continue
		}
		l = append(l, n)
	}
	return l
}

// ipVersion names the IP layer of an address for protocols.
func ipVersion(addr string) string {
	switch addrType(addr) {
	case "ipv4-addr":
		return "ipv4"
	case "ipv6-addr":
		return "ipv6"
	}
	return ""
}
