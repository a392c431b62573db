package stix

import "time"

// parseTimestamp reads the STIX timestamp form: RFC 3339 in UTC with a "Z"
// suffix and an optional fraction of any length. It returns the number of
// fractional digits because created and modified must carry at least
// millisecond precision. time.Parse is avoided: it accepts offsets and is
// slower than this fixed-layout reader.
func parseTimestamp(s string) (t time.Time, frac int, ok bool) {
	// YYYY-MM-DDTHH:MM:SS[.f+]Z
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
		s[13] != ':' || s[16] != ':' || (s[len(s)-1] != 'Z' && s[len(s)-1] != 'z') {
		return time.Time{}, 0, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, 0, false
	}
	nsec := 0
	rest := s[19 : len(s)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) == 1 {
			return time.Time{}, 0, false
		}
		frac = len(rest) - 1
		scale := 100000000
		for i := 1; i < len(rest); i++ {
			c := rest[i]
			if c < '0' || c > '9' {
				return time.Time{}, 0, false
			}
			nsec += int(c-'0') * scale
			scale /= 10
		}
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, 0, false
	}
	if day > daysIn(month, year) {
		return time.Time{}, 0, false
	}
	// A leap second (60) is valid RFC 3339; time.Date folds it into the next minute.
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), frac, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
