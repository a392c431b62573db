package taxii

import (
	"errors"
	"time"
)

// timestampLayout writes TAXII timestamps. The trailing Z is a literal, so
// the time must be converted to UTC first.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// FormatTimestamp writes t in UTC with exactly six fractional digits and a
// trailing Z, the form TAXII servers use for date_added and the
// X-TAXII-Date-Added-* headers. Digits below the microsecond are dropped:
// Setu assigns date_added at microsecond granularity, so nothing is lost
// for values it produces.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(timestampLayout)
}

// formatExact writes t like FormatTimestamp but keeps nanoseconds when they
// are present, so that a filter value echoed back to a server selects the
// same instant it was parsed from.
func formatExact(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%1000 == 0 {
		return t.Format(timestampLayout)
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

var errTimestamp = errors.New("not a TAXII timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z in UTC)")

// ParseTimestamp reads a TAXII timestamp: RFC 3339 in UTC, the literal
// upper-case T and Z, and zero or more fractional digits (the specification
// allows any sub-second precision; digits beyond the nanosecond are
// dropped). Offsets other than Z, lower-case t or z, a dangling decimal
// point and out-of-range fields are refused.
func ParseTimestamp(s string) (time.Time, error) {
	const base = len("2006-01-02T15:04:05")
	if len(s) < base+1 || s[len(s)-1] != 'Z' {
		return time.Time{}, errTimestamp
	}
	for i := 0; i < base; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return time.Time{}, errTimestamp
			}
		case 10:
			if c != 'T' {
				return time.Time{}, errTimestamp
			}
		case 13, 16:
			if c != ':' {
				return time.Time{}, errTimestamp
			}
		default:
			if c < '0' || c > '9' {
				return time.Time{}, errTimestamp
			}
		}
	}
	frac := s[base : len(s)-1]
	ns := 0
	if frac != "" {
		if frac[0] != '.' || len(frac) == 1 {
			return time.Time{}, errTimestamp
		}
		digits := frac[1:]
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return time.Time{}, errTimestamp
			}
		}
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < len(digits) {
				ns += int(digits[i] - '0')
			}
		}
	}
	// time.Parse checks the field ranges (month 13, 30 February, hour 24).
	t, err := time.Parse("2006-01-02T15:04:05", s[:base])
	if err != nil {
		return time.Time{}, errTimestamp
	}
	return t.Add(time.Duration(ns)), nil
}

// Timestamp is a time in a TAXII resource. It marshals with
// FormatTimestamp and unmarshals with ParseTimestamp; the zero value is
// "absent" and optional members holding it are omitted.
type Timestamp time.Time

// Time returns t as a time.Time.
func (t Timestamp) Time() time.Time { return time.Time(t) }

// IsZero reports whether t is the zero time.
func (t Timestamp) IsZero() bool { return time.Time(t).IsZero() }

// String returns the TAXII form of t.
func (t Timestamp) String() string { return FormatTimestamp(time.Time(t)) }

// MarshalText implements encoding.TextMarshaler.
func (t Timestamp) MarshalText() ([]byte, error) {
	return []byte(FormatTimestamp(time.Time(t))), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := ParseTimestamp(string(b))
	if err != nil {
		return err
	}
	*t = Timestamp(v)
	return nil
}
