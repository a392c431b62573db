package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// maxMatchInput bounds the observed data "pattern match" reads: it holds
// the whole input in memory, and a bundle beyond this size belongs in a
// collection, not on a command line.
const maxMatchInput = 256 << 20

// patternMatch evaluates one pattern against the observed-data in a bundle
// or JSON list (STIX 2.1 or 2.0 form) read from FILE or standard input.
// It prints "true" and the bindings and exits 0 on a match, prints "false"
// and exits 1 otherwise, and exits 2 on a bad pattern or bad input, so
// that scripts can tell "no match" from "could not tell".
func patternMatch(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "pattern match", "PATTERN [FILE|-]  (observed-data: a bundle, a JSON list of observed-data or of bundles, or one observed-data, STIX 2.1 or 2.0; standard input when FILE is absent or -)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return 2
	}
	src, name := fs.Arg(0), "-"
	if fs.NArg() == 2 {
		name = fs.Arg(1)
	}
	p, err := pattern.Parse(src)
	if err != nil {
		errorf(e, "invalid pattern: %v", err)
		var se *pattern.SyntaxError
		if errors.As(err, &se) {
			line, caret := caretLines(src, se)
			fmt.Fprintf(e.stderr, "  %s\n  %s\n", line, caret)
		}
		return 2
	}
	m, err := match.Compile(p)
	if err != nil {
		errorf(e, "pattern cannot be evaluated: %v", err)
		return 2
	}
	data, err := readMatchInput(e, name)
	if err != nil {
		errorf(e, "reading %s: %v", displayName(name), err)
		return 2
	}
	groups, err := match.DecodeGroups(data)
	if err != nil {
		errorf(e, "%s: %v", displayName(name), err)
		return 2
	}
	var obs []match.Observation
	for _, g := range groups {
		o, err := match.Observations(g)
		if err != nil {
			errorf(e, "%s: %v", displayName(name), err)
			return 2
		}
		obs = append(obs, o...)
	}
	if len(obs) == 0 {
		// "false" would claim the pattern was tried against something.
		errorf(e, "%s: no observed-data to match against (give a bundle, a JSON list of observed-data or of bundles, or one observed-data)", displayName(name))
		return 2
	}
	r, ok := m.Match(obs)
	if !ok {
		fmt.Fprintln(e.stdout, "false")
		return 1
	}
	fmt.Fprintln(e.stdout, "true")
	for _, b := range r.Bindings {
		count := ""
		if b.Count > 1 {
			count = fmt.Sprintf(" x%d", b.Count)
		}
		fmt.Fprintf(e.stdout, "  %s\n    %s%s: %s\n", b.Text, b.ObservedData, count, strings.Join(b.Objects, " "))
	}
	return 0
}

func readMatchInput(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxMatchInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMatchInput {
		return nil, fmt.Errorf("input is longer than %d bytes", maxMatchInput)
	}
	return b, nil
}
