package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

func init() {
	register("pattern", "check STIX patterns and match them against observed data", runPattern)
}

// runPattern dispatches "setu pattern VERB": check reads a pattern, match
// evaluates one against observed data.
func runPattern(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "pattern", args, map[string]func(context.Context, *env, []string) int{
		"check": patternCheck,
		"match": patternMatch,
	})
}

// maxPatternInput bounds what "-" reads from standard input; indicator
// patterns are at most a few kilobytes.
const maxPatternInput = 1 << 20

// patternCheck validates one pattern: its tree (or canonical text) on
// stdout and exit 0, or the error with a caret under the offending text on
// stderr and exit 1.
func patternCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "pattern check", "[--canonical] PATTERN  (or - to read the pattern from standard input)")
	canonical := fs.Bool("canonical", false, "print the canonical text of the pattern instead of its tree")
	src, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if src == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxPatternInput+1))
		if err != nil {
			errorf(e, "reading the pattern: %v", err)
			return 1
		}
		if len(b) > maxPatternInput {
			errorf(e, "pattern on standard input is longer than %d bytes", maxPatternInput)
			return 1
		}
		src = string(b)
	}
	p, err := pattern.Parse(src)
	if err != nil {
		errorf(e, "invalid pattern: %v", err)
		var se *pattern.SyntaxError
		if errors.As(err, &se) {
			line, caret := caretLines(src, se)
			fmt.Fprintf(e.stderr, "  %s\n  %s\n", line, caret)
		}
		return 1
	}
	if *canonical {
		fmt.Fprintln(e.stdout, pattern.Format(p))
		return 0
	}
	fmt.Fprint(e.stdout, pattern.Dump(p))
	return 0
}

// caretLines returns the input line holding the error and a line with a
// caret under the error's column. Tabs are copied into the caret line so
// the caret lines up however the terminal expands them; a long line is cut
// to a window around the error.
func caretLines(src string, se *pattern.SyntaxError) (line, caret string) {
	// Line endings as SyntaxError counts them: \r\n, \n or a lone \r.
	all := strings.Split(strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n"), "\n")
	text := ""
	if se.Line >= 1 && se.Line <= len(all) {
		text = all[se.Line-1]
	}
	runes := []rune(text)
	col := se.Column - 1
	if col > len(runes) {
		col = len(runes)
	}
	const width, before = 100, 50
	prefix, suffix := "", ""
	if len(runes) > width {
		start := max(0, col-before)
		end := min(len(runes), start+width)
		if start > 0 {
			prefix = "…"
		}
		if end < len(runes) {
			suffix = "…"
		}
		runes, col = runes[start:end], col-start
	}
	var b strings.Builder
	if prefix != "" {
		b.WriteByte(' ')
	}
	for _, r := range runes[:col] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	return prefix + string(runes) + suffix, b.String()
}
