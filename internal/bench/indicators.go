package bench

import (
	"bufio"
	"encoding/hex"
	"io"
	"strconv"
	"time"

	"github.com/setu-cti/setu/internal/stix"
)

// Indicators generates valid STIX 2.1 indicators, each a pure function of
// (Seed, index): the same index always yields the same bytes, so a test can
// regenerate the id of any object it imported without keeping a list, and two
// runs with the same seed produce byte-identical input.
//
// Every indicator has a unique id and a unique pattern
// ([ipv4-addr:value = '10.a.b.c'] for indices below 2^24), millisecond
// timestamps, pattern_type "stix" and spec_version "2.1". The description is
// padded with words so each object is about Size bytes.
//
// The zero value generates objects of the minimum size with seed 0.
type Indicators struct {
	Seed uint64
	Size int // approximate bytes per object; objects are never truncated below their required properties
	// Creator is the identity id every indicator names as created_by_ref
	// (default: a fixed feed identity). A server accepts objects from a
	// member organisation only when they name that organisation's identity.
	Creator string
}

// epoch is the created time of index 0. Later indices are a little over a
// second apart, so a million indicators span about twelve days, all in the
// past.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// mix is the splitmix64 finalizer. It is a bijection on uint64, which is
// what makes the ids unique: distinct indices give distinct mixed values, and
// all 64 bits of that value are placed in the UUID.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const golden = 0x9e3779b97f4a7c15

// uuid returns a version 4 UUID for index i.
func (g Indicators) uuid(i int) [16]byte {
	x := mix(uint64(i) + (g.Seed+1)*golden)
	y := mix(x ^ g.Seed ^ golden)
	var u [16]byte
	// The first eight bytes carry 60 bits of x around the version nibble; the
	// remaining 4 bits of x go after the variant bits, so x is recoverable
	// and the UUID is unique per index.
	hi := x >> 4
	u[0], u[1], u[2], u[3] = byte(hi>>52), byte(hi>>44), byte(hi>>36), byte(hi>>28)
	u[4], u[5] = byte(hi>>20), byte(hi>>12)
	u[6] = 0x40 | byte(hi>>8)&0x0f
	u[7] = byte(hi)
	u[8] = 0x80 | byte(x&0x0f)<<2 | byte(y&0x03)
	for k := 9; k < 16; k++ {
		u[k] = byte(y >> (8 * (k - 8)))
	}
	return u
}

func appendUUID(dst []byte, u [16]byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return append(dst, s[:]...)
}

// ID returns the STIX id of indicator i.
func (g Indicators) ID(i int) string {
	return string(appendUUID([]byte("indicator--"), g.uuid(i)))
}

// creator is the identity generated indicators name as their creator by default,
// as a feed's objects all carry the feed's identity.
const creator = "identity--8c7a4a2e-5b1f-4d0e-9a39-4f3f0f6a1c2d"

// tlpGreen is the TLP 2.0 GREEN marking definition. Its id is fixed by the
// TLP 2.0 extension, so it resolves on every node without being stored, and
// the read policy can classify every generated object: a reference it cannot
// resolve would leave the object readable by its submitter alone.
const tlpGreen = stix.TLPGreen

var words = []string{
	"scanning", "host", "observed", "probing", "exposed", "services", "across", "national",
	"critical", "infrastructure", "ranges", "including", "remote", "desktop", "and", "secure",
	"shell", "endpoints", "credential", "stuffing", "attempts", "were", "reported", "by",
	"several", "operators", "within", "the", "energy", "telecommunications", "sectors", "traffic",
	"matches", "known", "botnet", "infrastructure", "previously", "linked", "to", "ransomware",
	"staging", "activity", "block", "at", "perimeter", "review", "logs", "for", "outbound",
	"connections",
}

// Append appends indicator i as one line of compact JSON (without the
// newline) to dst and returns the extended slice.
func (g Indicators) Append(dst []byte, i int) []byte {
	start := len(dst)
	u := g.uuid(i)
	r := mix(uint64(i) ^ g.Seed ^ 0x5eed) // per-object stream for the variable fields
	next := func() uint64 { r += golden; return mix(r) }

	created := epoch.Add(time.Duration(i)*1100*time.Millisecond + time.Duration(next()%1000)*time.Millisecond)
	modified := created.Add(time.Duration(next()%3600000) * time.Millisecond)
	ip := ipFor(i)

	dst = append(dst, `{"type":"indicator","spec_version":"2.1","id":"indicator--`...)
	dst = appendUUID(dst, u)
	dst = append(dst, `","created":"`...)
	dst = appendTime(dst, created)
	dst = append(dst, `","modified":"`...)
	dst = appendTime(dst, modified)
	by := g.Creator
	if by == "" {
		by = creator
	}
	dst = append(dst, `","created_by_ref":"`...)
	dst = append(dst, by...)
	dst = append(dst, `","name":"Scanning host `...)
	dst = append(dst, ip...)
	dst = append(dst, `","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '`...)
	dst = append(dst, ip...)
	dst = append(dst, `']","pattern_type":"stix","pattern_version":"2.1","valid_from":"`...)
	dst = appendTime(dst, created)
	dst = append(dst, `","confidence":`...)
	dst = strconv.AppendUint(dst, next()%101, 10)
	dst = append(dst, `,"object_marking_refs":["`+tlpGreen+`"],"description":"`...)
	// The description comes last so that padding it reaches the requested
	// size exactly; it always has at least one word.
	for first := true; first || len(dst)-start+len(`"}`) < g.Size; first = false {
		if !first {
			dst = append(dst, ' ')
		}
		dst = append(dst, words[next()%uint64(len(words))]...)
	}
	dst = append(dst, `"}`...)
	return dst
}

// ipFor spreads indices over 10.0.0.0/8, one address per index below 2^24.
func ipFor(i int) string {
	v := uint32(i) & 0xffffff
	return "10." + strconv.Itoa(int(v>>16)) + "." + strconv.Itoa(int(v>>8&0xff)) + "." + strconv.Itoa(int(v&0xff))
}

// appendTime writes t as a STIX timestamp with exactly millisecond precision.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}

// WriteNDJSON writes indicators 0..n-1 to w, one per line, and returns the
// number of bytes written.
func (g Indicators) WriteNDJSON(w io.Writer, n int) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var total int64
	buf := make([]byte, 0, max(g.Size, 512)+256)
	for i := range n {
		buf = g.Append(buf[:0], i)
		buf = append(buf, '\n')
		k, err := bw.Write(buf)
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	return total, bw.Flush()
}
