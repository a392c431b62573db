package pattern_test

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/stix/pattern"
)

func key(k string) pattern.Step { return pattern.Step{Kind: pattern.KeyStep, Key: k} }

func path(typ string, steps ...pattern.Step) pattern.ObjectPath {
	return pattern.ObjectPath{Type: typ, Steps: steps}
}

func cmpEq(p pattern.ObjectPath, op pattern.Operator, v pattern.Value) *pattern.Comparison {
	return &pattern.Comparison{Path: p, Op: op, Value: v}
}

func obs(c pattern.ComparisonExpr) *pattern.Observation { return &pattern.Observation{Expr: c} }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestParseTree checks the tree built for each construct, including how
// precedence and qualifiers group.
func TestParseTree(t *testing.T) {
	a := obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.IntLit(1)))
	b := obs(cmpEq(path("b", key("x")), pattern.Equal, pattern.IntLit(2)))
	c := obs(cmpEq(path("c", key("x")), pattern.Equal, pattern.IntLit(3)))
	ax := cmpEq(path("a", key("x")), pattern.Equal, pattern.IntLit(1))
	ay := cmpEq(path("a", key("y")), pattern.Equal, pattern.IntLit(2))
	az := cmpEq(path("a", key("z")), pattern.Equal, pattern.IntLit(3))
	tests := []struct {
		in   string
		want pattern.ObservationExpr
	}{
		{"[a:x = 1]", a},
		{"[a:x == 1]", a},
		{" \t[ a : x=1 ] /* comment */ // trailing", a},
		{"[a:x = 1] AND [b:x = 2] OR [c:x = 3]", &pattern.CompoundObservation{Op: pattern.Or, Operands: []pattern.ObservationExpr{
			&pattern.CompoundObservation{Op: pattern.And, Operands: []pattern.ObservationExpr{a, b}}, c}}},
		{"[a:x = 1] OR [b:x = 2] AND [c:x = 3]", &pattern.CompoundObservation{Op: pattern.Or, Operands: []pattern.ObservationExpr{
			a, &pattern.CompoundObservation{Op: pattern.And, Operands: []pattern.ObservationExpr{b, c}}}}},
		{"[a:x = 1] OR [b:x = 2] FOLLOWEDBY [c:x = 3]", &pattern.CompoundObservation{Op: pattern.FollowedBy, Operands: []pattern.ObservationExpr{
			&pattern.CompoundObservation{Op: pattern.Or, Operands: []pattern.ObservationExpr{a, b}}, c}}},
		// Chains of one connective flatten, however parenthesised.
		{"[a:x = 1] AND ([b:x = 2] AND [c:x = 3])", &pattern.CompoundObservation{Op: pattern.And, Operands: []pattern.ObservationExpr{a, b, c}}},
		{"([a:x = 1] FOLLOWEDBY [b:x = 2]) FOLLOWEDBY [c:x = 3]", &pattern.CompoundObservation{Op: pattern.FollowedBy, Operands: []pattern.ObservationExpr{a, b, c}}},
		// ... except a later FOLLOWEDBY operand, which regroups.
		{"[a:x = 1] FOLLOWEDBY ([b:x = 2] FOLLOWEDBY [c:x = 3])", &pattern.CompoundObservation{Op: pattern.FollowedBy, Operands: []pattern.ObservationExpr{
			a, &pattern.CompoundObservation{Op: pattern.FollowedBy, Operands: []pattern.ObservationExpr{b, c}}}}},
		// A qualifier binds to the expression just before it.
		{"[a:x = 1] AND [b:x = 2] WITHIN 5 SECONDS", &pattern.CompoundObservation{Op: pattern.And, Operands: []pattern.ObservationExpr{
			a, &pattern.Qualified{Expr: b, Qualifiers: []pattern.Qualifier{pattern.Within{Seconds: 5}}}}}},
		{"([a:x = 1] AND [b:x = 2]) WITHIN 2.5 SECONDS", &pattern.Qualified{
			Expr:       &pattern.CompoundObservation{Op: pattern.And, Operands: []pattern.ObservationExpr{a, b}},
			Qualifiers: []pattern.Qualifier{pattern.Within{Seconds: 2.5}}}},
		{"([a:x = 1] REPEATS 2 TIMES) WITHIN 5 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'", &pattern.Qualified{
			Expr: a, Qualifiers: []pattern.Qualifier{pattern.Repeats{Times: 2}, pattern.Within{Seconds: 5},
				pattern.StartStop{Start: ts("2016-06-01T00:00:00Z"), Stop: ts("2016-07-01T00:00:00.5Z")}}}},
		{"[a:x = 1 AND a:y = 2 OR a:z = 3]", obs(&pattern.CompoundComparison{Op: pattern.Or, Operands: []pattern.ComparisonExpr{
			&pattern.CompoundComparison{Op: pattern.And, Operands: []pattern.ComparisonExpr{ax, ay}}, az}})},
		{"[a:x = 1 AND (a:y = 2 OR a:z = 3)]", obs(&pattern.CompoundComparison{Op: pattern.And, Operands: []pattern.ComparisonExpr{
			ax, &pattern.CompoundComparison{Op: pattern.Or, Operands: []pattern.ComparisonExpr{ay, az}}}})},
		{"[(a:x = 1 OR (a:y = 2)) OR a:z = 3]", obs(&pattern.CompoundComparison{Op: pattern.Or, Operands: []pattern.ComparisonExpr{ax, ay, az}})},
		{"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]", obs(cmpEq(
			path("file", key("extensions"), key("windows-pebinary-ext"), key("sections"), pattern.Step{Kind: pattern.AnyIndexStep}, key("entropy")),
			pattern.Greater, pattern.FloatLit(7)))},
		{"[x-foo:'a.b'[0][-1] != 'it\\'s \\\\ here']", obs(cmpEq(
			path("x-foo", key("a.b"), pattern.Step{Kind: pattern.IndexStep}, pattern.Step{Kind: pattern.IndexStep, Index: -1}),
			pattern.NotEqual, pattern.StringLit(`it's \ here`)))},
		{"[a:x <> -5]", obs(cmpEq(path("a", key("x")), pattern.NotEqual, pattern.IntLit(-5)))},
		{"[a:x NOT < +5]", obs(&pattern.Comparison{Path: path("a", key("x")), Op: pattern.Less, Negated: true, Value: pattern.IntLit(5)})},
		{"[a:x <= -.5]", obs(cmpEq(path("a", key("x")), pattern.LessEqual, pattern.FloatLit(-0.5)))},
		{"[a:x >= t'2020-02-29T23:59:59.123456789Z']", obs(cmpEq(path("a", key("x")), pattern.GreaterEqual, pattern.TimestampLit{Time: ts("2020-02-29T23:59:59.123456789Z")}))},
		{"[a:x = true]", obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.BoolLit(true)))},
		{"[a:x != false]", obs(cmpEq(path("a", key("x")), pattern.NotEqual, pattern.BoolLit(false)))},
		{"[a:x = b'aGVsbG8=']", obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.BinaryLit("hello")))},
		{"[a:x = h'FFd8']", obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.HexLit{0xff, 0xd8}))},
		{"[a:x = h'']", obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.HexLit{}))},
		{"[a:x IN ('a', 1, 2.5, true)]", obs(cmpEq(path("a", key("x")), pattern.In,
			pattern.SetLit{pattern.StringLit("a"), pattern.IntLit(1), pattern.FloatLit(2.5), pattern.BoolLit(true)}))},
		{"[a:x NOT IN ()]", obs(&pattern.Comparison{Path: path("a", key("x")), Op: pattern.In, Negated: true, Value: pattern.SetLit{}})},
		{"[a:x LIKE 'a%']", obs(cmpEq(path("a", key("x")), pattern.Like, pattern.StringLit("a%")))},
		{"[a:x NOT MATCHES '^a\\\\d$']", obs(&pattern.Comparison{Path: path("a", key("x")), Op: pattern.Matches, Negated: true, Value: pattern.StringLit(`^a\d$`)})},
		{"[a:x ISSUBSET '10.0.0.0/8']", obs(cmpEq(path("a", key("x")), pattern.IsSubset, pattern.StringLit("10.0.0.0/8")))},
		{"[a:x NOT ISSUPERSET '10.0.0.0/8']", obs(&pattern.Comparison{Path: path("a", key("x")), Op: pattern.IsSuperset, Negated: true, Value: pattern.StringLit("10.0.0.0/8")})},
		{"[EXISTS a:x.y]", obs(&pattern.Comparison{Path: path("a", key("x"), key("y")), Op: pattern.Exists})},
		{"[a:x = 1] FOLLOWEDBY [EXISTS b:'x'] REPEATS 3 TIMES", &pattern.CompoundObservation{Op: pattern.FollowedBy, Operands: []pattern.ObservationExpr{
			a, &pattern.Qualified{Expr: obs(&pattern.Comparison{Path: path("b", key("x")), Op: pattern.Exists}), Qualifiers: []pattern.Qualifier{pattern.Repeats{Times: 3}}}}}},
		// Keywords are case-sensitive: a longer or lower-case word is an identifier.
		{"[ANDROID:and = 1]", obs(cmpEq(path("ANDROID", key("and")), pattern.Equal, pattern.IntLit(1)))},
		// A leap second folds into the next minute.
		{"[a:x = t'2016-12-31T23:59:60Z']", obs(cmpEq(path("a", key("x")), pattern.Equal, pattern.TimestampLit{Time: ts("2017-01-01T00:00:00Z")}))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := pattern.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, p.Expr); d != "" {
				t.Errorf("tree (-want +got):\n%s", d)
			}
			checkRoundTrip(t, tt.in, p)
		})
	}
}

// checkRoundTrip asserts that the canonical text parses to the same tree
// and is itself canonical.
func checkRoundTrip(t testing.TB, in string, p *pattern.Pattern) {
	t.Helper()
	text := pattern.Format(p)
	q, err := pattern.Parse(text)
	if err != nil {
		t.Fatalf("Parse(Format(Parse(%q))) = %v\ncanonical: %s", in, err, text)
	}
	if d := cmp.Diff(p, q); d != "" {
		t.Fatalf("round trip of %q changed the tree (-first +second):\n%s\ncanonical: %s", in, d, text)
	}
	if again := pattern.Format(q); again != text {
		t.Fatalf("Format is not stable:\n%s\n%s", text, again)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[ a:x==1 ]", "[a:x = 1]"},
		{"[file:hashes.'MD5' = 'x']", "[file:hashes.MD5 = 'x']"},
		{"[file:hashes.'SHA-256' = 'x']", "[file:hashes.'SHA-256' = 'x']"},
		{"[a:'AND' = 1]", "[a:'AND' = 1]"},
		{"[a:x <> 'it\\'s']", "[a:x != 'it\\'s']"},
		{"[a:x = 1 AND (a:y = 2 OR a:z = 3)]", "[a:x = 1 AND (a:y = 2 OR a:z = 3)]"},
		{"[(a:x = 1 AND a:y = 2) OR a:z = 3]", "[a:x = 1 AND a:y = 2 OR a:z = 3]"},
		{"([a:x = 1] OR [a:y = 2]) AND [a:z = 3]", "([a:x = 1] OR [a:y = 2]) AND [a:z = 3]"},
		{"([a:x = 1] AND [a:y = 2]) OR [a:z = 3]", "[a:x = 1] AND [a:y = 2] OR [a:z = 3]"},
		{"[a:x = 1] FOLLOWEDBY ([a:y = 2] FOLLOWEDBY [a:z = 3])", "[a:x = 1] FOLLOWEDBY ([a:y = 2] FOLLOWEDBY [a:z = 3])"},
		{"(([a:x = 1]) WITHIN 5.0 SECONDS) REPEATS +2 TIMES", "[a:x = 1] WITHIN 5 SECONDS REPEATS 2 TIMES"},
		{"([a:x = 1] OR [a:y = 2]) WITHIN 0.25 SECONDS", "([a:x = 1] OR [a:y = 2]) WITHIN 0.25 SECONDS"},
		{"[a:x = t'2016-06-01T00:00:00.500000Z'] START t'2016-06-01T00:00:00.000Z' STOP t'2016-06-01T00:00:01Z'",
			"[a:x = t'2016-06-01T00:00:00.5Z'] START t'2016-06-01T00:00:00Z' STOP t'2016-06-01T00:00:01Z'"},
		{"[a:x = 7.0 AND a:y = 007.50 AND a:z = -0.0]", "[a:x = 7.0 AND a:y = 7.5 AND a:z = -0.0]"},
		{"[a:x = h'FFD8' AND a:y = b'AAEC']", "[a:x = h'ffd8' AND a:y = b'AAEC']"},
		{"[a:x NOT IN ( 1 ,2 )]", "[a:x NOT IN (1, 2)]"},
		{"[ EXISTS a:x ]", "[EXISTS a:x]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := pattern.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := pattern.Format(p); got != tt.want {
				t.Errorf("Format = %s\nwant     %s", got, tt.want)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("String = %s", got)
			}
			checkRoundTrip(t, tt.in, p)
		})
	}
}

// TestSpecExamples parses every example pattern of the specification.
func TestSpecExamples(t *testing.T) {
	for _, s := range specExamples(t) {
		t.Run(s, func(t *testing.T) {
			p, err := pattern.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, s, p)
		})
	}
}

func specExamples(t testing.TB) []string {
	f, err := os.Open("testdata/spec-examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// validPatterns lists further patterns the grammar accepts, many from the OASIS
// validator's own passing cases as they read under STIX 2.1.
var validPatterns = []string{
	"[file:size = 1280]",
	"[file:size != 1280]",
	"[file:size < 1024]",
	"[file:size <= 1024]",
	"[file:size > 1024]",
	"[file:size >= 1024]",
	"[file:file_name = 'my_file_name']",
	"[file:extended_properties.'ntfs-ext'.sid = '234']",
	`[emailaddr:value MATCHES '.+\\@ibm\\.com$' OR file:name MATCHES '^Final Report.+\\.exe$']`,
	"[ipv4addr:value ISSUBSET '192.168.0.1/24']",
	"[ipv4addr:value NOT ISSUBSET '192.168.0.1/24']",
	"[user-account:value = 'Peter'] AND [user-account:value != 'Paul'] AND [user-account:value = 'Mary'] WITHIN 5 SECONDS",
	"[file:file_system_properties.file_name LIKE 'name%']",
	"[file:file_name IN ('test.txt', 'test2.exe', 'README')]",
	"[file:size IN (1024, 2048, 4096)]",
	"[network-connection:extended_properties[0].source_payload MATCHES 'dGVzdHRlc3R0ZXN0']",
	`[win-registry-key:key = 'hkey_local_machine\\foo\\bar'] WITHIN 5 SECONDS`,
	"[x_whatever:detected == t'2018-03-22T12:11:14.1Z']",
	"[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
	"[foo:bar=1] REPEATS 9 TIMES",
	"[network-traffic:start = '2018-04-20T12:36:24.558Z']",
	"( [(network-traffic:dst_port IN(443,6443,8443) AND network-traffic:src_packets != 0) ])",
	`([win-registry-key:key = 'hkey_local_machine\\foo\\bar']) WITHIN 5 SECONDS WITHIN 6 SECONDS`,
	`([win-registry-key:key = 'hkey_local_machine\\foo\\bar'] REPEATS 2 TIMES) REPEATS 2 TIMES`,
	"[network-traffic:src_port = 37020 AND user-account:user_id = 'root'] START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00.123Z' OR [ipv4-addr:value = '192.168.122.83'] START t'2016-06-01T03:55:00.123Z' STOP t'2016-06-01T04:30:24.743Z'",
	"[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
	"[network-traffic:dst_ref.value = '198.51.100.58' AND network-traffic:dst_port = 22 AND network-traffic:protocols[0] = 'tcp' AND network-traffic:protocols[*] = 'ssh']",
	"[file:name = 'a'] FOLLOWEDBY [file:name = 'b'] FOLLOWEDBY [file:name = 'c'] WITHIN 10 SECONDS",
	"[a:x = 'multi\nline' AND\n\ta:y = 'tab\there']",
	"[a:x = 'ünïcødé ✓'] /* block\ncomment */",
	"[a:x = 9223372036854775807 AND a:y = -9223372036854775808]",
	"[a:x = 179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.0]",
	"[a:x = 0.000000000000000000000000000001]",
	"[a:_leading_underscore = 1]",
	"[a:x = '']",
	"[a:'' = 1]",
	"[a:x[+3] = 1]",
	"[a:x = t'1970-01-01T00:00:00.1234567890123Z']",
	"[a:x = 1] WITHIN 1 SECONDS WITHIN 2 SECONDS",
	"[a:x = 1] START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z' START t'2016-02-01T00:00:00Z' STOP t'2016-03-01T00:00:00Z'",
}

// TestValid parses validPatterns and round-trips each.
func TestValid(t *testing.T) {
	for _, s := range validPatterns {
		t.Run(s, func(t *testing.T) {
			p, err := pattern.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, s, p)
			if d := pattern.Dump(p); !strings.HasPrefix(d, "pattern\n") {
				t.Errorf("Dump = %q", d)
			}
		})
	}
}

// TestErrors checks rejected patterns: the position, and the message.
func TestErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "1:1: expected '[' or '(' but found end of pattern"},
		{"file:size = 1280", "1:1: expected '[' or '(' but found 'file'"},
		{"[file:size = ]", "1:14: expected a literal but found ']'"},
		{"[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]", "1:20: expected a literal but found 'cead3f77f6cda6ec00f57d76c9a6879f'"},
		{"[file.size = 1280]", "1:6: expected ':' after the object type but found '.'"},
		{"[file:name MATCHES /.*\\.dll/]", "1:20: unexpected character '/'"},
		{"[a:x = 1] WITHIN ]", "1:18: expected a number of seconds but found ']'"},
		{"[a:x = 1] WITHIN 5 HOURS", "1:20: expected SECONDS but found 'HOURS'"},
		{"[a:x = 1] WITHIN -5 SECONDS", "1:18: expected a positive number of seconds but found '-5'"},
		{"[a:x = 1] WITHIN 0 SECONDS", "1:18: WITHIN needs a positive number of seconds"},
		{"[a:x = 1] REPEATS 0 TIMES", "1:19: REPEATS needs a positive count"},
		{"[a:x = 1] REPEATS 2.5 TIMES", "1:19: expected a positive integer but found '2.5'"},
		{"[a:x = 1] REPEATS 2", "1:20: expected TIMES but found end of pattern"},
		{"[network-traffic:dst_ref.value ISSUBSET ]", "1:41: expected a string literal but found ']'"},
		{"[file:hashes.MD5 =? 'x']", "1:19: unexpected character '?'"},
		{"[x_whatever:detected == t'2457-73-22T32:81:84.1Z']", "1:25: invalid timestamp 't'2457-73-22T32:81:84.1Z'': month out of range"},
		{"[a:x = t'2019-02-29T00:00:00Z']", "1:8: invalid timestamp 't'2019-02-29T00:00:00Z'': day out of range"},
		{"[a:x = t'2019-02-01T00:00:00+01:00']", "1:8: invalid timestamp 't'2019-02-01T00:00:00+01:00'': want YYYY-MM-DDTHH:MM:SS[.fraction]Z"},
		{"[a:x = t'2019-02-01 00:00:00Z']", "1:8: invalid timestamp 't'2019-02-01 00:00:00Z'': want YYYY-MM-DDTHH:MM:SS[.fraction]Z"},
		{"[artifact:payload_bin = b'====']", "1:25: invalid binary literal 'b'===='': want padded base64"},
		{"[a:x = b'aGVsbG8']", "1:8: invalid binary literal 'b'aGVsbG8'': want padded base64"},
		{"[a:x = b'']", "1:8: invalid binary literal 'b''': want padded base64"},
		{"[a:x = h'abc']", "1:8: invalid hex literal 'h'abc'': want pairs of hex digits"},
		{"[foo:bar=1] within 2 seconds", "1:13: expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern but found 'within'"},
		{"[a:x = 1] and [b:y = 2]", "1:11: expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern but found 'and'"},
		{"[a:x = 1 AND AND]", "1:14: expected an object path, EXISTS or '(' but found 'AND'"},
		{"[a:x = 1 b:y = 2]", "1:10: expected AND, OR or ']' but found 'b'"},
		{"[a:x = 1", "1:9: expected AND, OR or ']' but found end of pattern"},
		{"([a:x = 1]", "1:11: expected AND, OR, FOLLOWEDBY, a qualifier or ')' but found end of pattern"},
		{"[(a:x = 1]", "1:10: expected AND, OR or ')' but found ']'"},
		{"[a:x = 1])", "1:10: expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern but found ')'"},
		{"[]", "1:2: expected an object path, EXISTS or '(' but found ']'"},
		{"[a:x = 1] FOLLOWEDBY", "1:21: expected '[' or '(' but found end of pattern"},
		{"[file:extensions.windows-pebinary-ext.sections[*].entropy > 7.0]", "1:18: property name 'windows-pebinary-ext' contains '-' and must be quoted: 'windows-pebinary-ext'"},
		{"[a:IN = 1]", "1:4: property name 'IN' is a keyword and must be quoted: 'IN'"},
		{"[AND:x = 1]", "1:2: expected an object path, EXISTS or '(' but found 'AND'"},
		{"[a:x < true]", "1:8: booleans have no order: 'true' cannot be compared with <, <=, > or >="},
		{"[a:x LIKE 5]", "1:11: expected a string literal but found '5'"},
		{"[a:x IN 'a']", "1:9: expected '(' and a list of literals but found ''a''"},
		{"[a:x IN ('a' 'b')]", "1:14: expected ',' or ')' but found ''b''"},
		{"[a:x IN (('a'))]", "1:10: expected a literal but found '('"},
		{"[a:x NOT EXISTS]", "1:10: EXISTS comes before the object path and cannot be negated"},
		{"[a:x EXISTS]", "1:6: EXISTS comes before the object path: EXISTS type:property"},
		{"[NOT EXISTS a:x]", "1:2: expected an object path, EXISTS or '(' but found 'NOT'"},
		{"[a:x = 'abc]", "1:8: unterminated string"},
		{"[a:x = 'a\\d']", "1:10: invalid escape '\\d' in string: only \\' and \\\\ are allowed"},
		{"[a:x = 007]", "1:8: integer '007' has a leading zero"},
		{"[a:x = 99999999999999999999]", "1:8: integer '99999999999999999999' is out of range"},
		{"[a:x = 1.7976931348623157e308]", "1:26: expected AND, OR or ']' but found 'e308'"},
		{"[a:x = 1.]", "1:9: expected AND, OR or ']' but found '.'"},
		{"[a:x[1.5] = 1]", "1:6: expected a list index or '*' but found '1.5'"},
		{"[a:x.[0] = 1]", "1:6: expected a property name but found '['"},
		{"[a:x = 1] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'", "1:17: expected a timestamp t'…' but found ''2016-06-01T00:00:00Z''"},
		{"[a:x = 1] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'", "1:46: STOP 't'2016-06-01T00:00:00Z'' is not later than START 't'2016-07-01T00:00:00Z''"},
		{"[a:x = 1] /* open", "1:11: unterminated comment"},
		{"[a:x = 1]\n  AND [b:y = 2] OR\n  OR", "3:3: expected '[' or '(' but found 'OR'"},
		{"[a:x = 'é'] AND [b:y ~ 2]", "1:22: unexpected character '~'"},
		{"[a:x = 1] AND [b:x = '\xff']", "1:23: invalid UTF-8"},
		{"[a:x = 1] LAST 5 SECONDS", "1:11: expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern but found 'LAST'"},
		{strings.Repeat("(", 600) + "[a:x = 1]" + strings.Repeat(")", 600), "1:501: expressions nested more than 500 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := pattern.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", pattern.Format(p))
			}
			var se *pattern.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if se.Offset < 0 || se.Offset > len(tt.in) {
				t.Errorf("offset %d outside the input", se.Offset)
			}
		})
	}
}

func TestSyntaxErrorFields(t *testing.T) {
	_, err := pattern.Parse("[a:x = 1]\r\nAND [b:y = 2 AND AND]")
	var se *pattern.SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	want := &pattern.SyntaxError{Offset: 28, Line: 2, Column: 18, Found: "'AND'",
		Expected: "an object path, EXISTS or '('", Msg: "expected an object path, EXISTS or '(' but found 'AND'"}
	if d := cmp.Diff(want, se); d != "" {
		t.Error(d)
	}
}

func TestDump(t *testing.T) {
	p := pattern.MustParse("([file:name = 'a.exe' AND (file:size > 10 OR EXISTS file:hashes.MD5)] FOLLOWEDBY [process:name NOT IN ('x', 'y')]) WITHIN 60 SECONDS OR [a:b = 1]")
	want := `pattern
  OR
    qualified WITHIN 60 SECONDS
      FOLLOWEDBY
        observation [ ]
          AND
            file:name = 'a.exe'
            OR
              file:size > 10
              EXISTS file:hashes.MD5
        observation [ ]
          process:name NOT IN ('x', 'y')
    observation [ ]
      a:b = 1
`
	if got := pattern.Dump(p); got != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", got, want)
	}
}

func TestAccessors(t *testing.T) {
	p := pattern.MustParse("([a:x = 1 AND (a:y = 2 OR a:z = 3)] FOLLOWEDBY [b:x = 1]) REPEATS 2 TIMES AND [c:x = 1]")
	var got []string
	for _, o := range p.Observations() {
		var cs []string
		for _, c := range o.Comparisons() {
			cs = append(cs, c.Path.String())
		}
		got = append(got, strings.Join(cs, " "))
	}
	want := []string{"a:x a:y a:z", "b:x", "c:x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic")
		}
	}()
	pattern.MustParse("[")
}

func BenchmarkParse(b *testing.B) {
	const s = "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:name MATCHES '^Final Report.+\\\\.exe$'] FOLLOWEDBY [network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port IN (80, 443)] WITHIN 300 SECONDS"
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := pattern.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	p := pattern.MustParse("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:name MATCHES '^Final Report.+\\\\.exe$'] FOLLOWEDBY [network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port IN (80, 443)] WITHIN 300 SECONDS")
	b.ReportAllocs()
	for b.Loop() {
		_ = pattern.Format(p)
	}
}
