// Package testreport turns the event stream of `go test -json` into what a
// person running the suite needs: one line per package, the full output of
// every failing test, and, at the end, why tests were skipped — grouped by
// reason, with counts and packages — so that a suite that silently lost
// its PostgreSQL or corpus tests says so.
package testreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// event is one record of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type key struct{ pkg, test string }

// skip is one reason tests were skipped for.
type skip struct {
	reason string
	tests  int
	pkgs   []string
}

// Summarize reads go test -json from r and writes the report to w. It
// reports whether anything failed (a test, a package, a build); lines that
// are not JSON (a build's own messages) are copied through.
func Summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	out := map[key][]string{}
	skips := map[string]*skip{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var passed, failedTests, skipped int
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			out[k] = append(out[k], e.Output)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok    %s\t%.1fs\n", e.Package, e.Elapsed)
			} else {
				passed++
			}
			delete(out, k)
		case "skip":
			if e.Test == "" {
				fmt.Fprintf(w, "-     %s\t(no test files)\n", e.Package)
			} else {
				skipped++
				reason := skipReason(out[k])
				s := skips[reason]
				if s == nil {
					s = &skip{reason: reason}
					skips[reason] = s
				}
				s.tests++
				if !slices.Contains(s.pkgs, e.Package) {
					s.pkgs = append(s.pkgs, e.Package)
				}
			}
			delete(out, k)
		case "fail":
			failed = true
			if e.Test != "" {
				failedTests++
			}
			if e.Test == "" {
				fmt.Fprintf(w, "FAIL  %s\t%.1fs\n", e.Package, e.Elapsed)
			}
			for _, o := range out[k] {
				fmt.Fprint(w, o)
			}
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	fmt.Fprintf(w, "\n%d tests and subtests passed, %d failed, %d skipped\n", passed, failedTests, skipped)
	if len(skips) > 0 {
		list := make([]*skip, 0, len(skips))
		for _, s := range skips {
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].tests != list[j].tests {
				return list[i].tests > list[j].tests
			}
			return list[i].reason < list[j].reason
		})
		fmt.Fprintln(w, "skipped, by reason:")
		for _, s := range list {
			sort.Strings(s.pkgs)
			fmt.Fprintf(w, "  %4d  %s\n        in %s\n", s.tests, s.reason, strings.Join(s.pkgs, ", "))
		}
	}
	return failed, nil
}

// skipReason is the message a test gave t.Skip: the last line of its
// output that is not the runner's own "--- SKIP" or "=== RUN" line.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		// "file_test.go:12: reason": the reason is what matters across tests.
		if _, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:len(l)-len(rest)], ".go:") {
			l = rest
		}
		return l
	}
	return "(no reason given)"
}
