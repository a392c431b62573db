package stix

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendCanonical appends the RFC 8785 (JCS) serialization of v: a tree
// as JSON decodes into any (maps, slices, strings, float64, bools, nil),
// with int64 and int accepted for integers, as producers of observables
// build them. Invalid UTF-8 in a string is written as U+FFFD, as
// encoding/json writes it. It panics on any other type.
func AppendCanonical(dst []byte, v any) []byte { return appendCanonical(dst, v) }

// appendCanonical appends the RFC 8785 (JCS) serialization of a decoded
// tree. Writing it from the tree Parse has already built saves re-reading
// the input, which was a third of Parse's time. The tree holds only what
// the strict decode accepted: valid UTF-8, finite numbers.
func appendCanonical(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendCanonicalString(dst, v)
	case float64:
		return appendCanonicalNumber(dst, v)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonical(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		var buf [16]string
		keys := buf[:0]
		ascii := true
		for k := range v {
			keys = append(keys, k)
			if ascii && !isASCII(k) {
				ascii = false
			}
		}
		if ascii {
			slices.Sort(keys)
		} else {
			// RFC 8785 orders names by UTF-16 code units, which differs
			// from byte order for characters beyond the BMP.
			slices.SortFunc(keys, compareUTF16)
		}
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonicalString(dst, k)
			dst = append(dst, ':')
			dst = appendCanonical(dst, v[k])
		}
		return append(dst, '}')
	}
	panic("stix: unexpected value in decoded tree")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

const hexDigits = "0123456789abcdef"

// appendCanonicalString escapes as ECMAScript JSON.stringify does: the two
// mandatory escapes, the short forms for control characters that have one,
// \u00xx for the rest below U+0020, and everything else as UTF-8 (a byte
// that is not valid UTF-8, which no decoded tree holds, as U+FFFD).
func appendCanonicalString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				start = i + 1
				continue
			}
			i += n - 1
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCanonicalNumber formats as ECMAScript Number.prototype.toString,
// which RFC 8785 adopts: shortest round-trip digits, plain notation for
// magnitudes in [1e-6, 1e21), exponent notation otherwise.
func appendCanonicalNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // also -0
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("stix: non-finite number in decoded tree")
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest digits and decimal exponent: d.ddde±x.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(string(e), "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n := x + 1 // position of the decimal point relative to the digits
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for i := k; i < n; i++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for i := 0; i < -n; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
