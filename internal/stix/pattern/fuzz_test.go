package pattern_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

// FuzzParse checks that Parse never panics, that every rejection is a
// *SyntaxError pointing inside the input, and that every accepted pattern
// survives a Format/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range specExamples(f) {
		f.Add(s)
	}
	for _, s := range validPatterns {
		f.Add(s)
	}
	for _, s := range []string{
		"", "[", "[a:x = 'unterminated", "[a:x = b'====']", "[a:x = t'2019-02-29T00:00:00Z']",
		"[a:x = 1] /* open", "[a:x.'y'[*][-1] NOT IN (h'00', b'AA==', -.5, true)]",
		"(([a:x = 1] AND [b:y = 2]) WITHIN 1.5 SECONDS) FOLLOWEDBY ([c:z = 3] OR [EXISTS d:w])",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := pattern.Parse(s)
		if err != nil {
			var se *pattern.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			}
			if se.Offset < 0 || se.Offset > len(s) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("bad position %d (%d:%d) for input of %d bytes", se.Offset, se.Line, se.Column, len(s))
			}
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8")
		}
		checkRoundTrip(t, s, p)
		_ = pattern.Dump(p)
	})
}
