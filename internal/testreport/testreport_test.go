package testreport

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0.1}`,
		`{"Action":"run","Package":"p/a","Test":"TestPG"}`,
		`{"Action":"output","Package":"p/a","Test":"TestPG","Output":"=== RUN   TestPG\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestPG","Output":"    pg_test.go:12: SETU_TEST_POSTGRES_DSN is not set\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestPG"}`,
		`{"Action":"pass","Package":"p/a","Elapsed":1.25}`,
		`{"Action":"output","Package":"p/b","Test":"TestPG2","Output":"    x_test.go:3: SETU_TEST_POSTGRES_DSN is not set\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestPG2"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    bad_test.go:9: got 1, want 2\n"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}`,
		`{"Action":"fail","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBare","Output":"--- SKIP: TestBare (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestBare"}`,
		`{"Action":"fail","Package":"p/b","Elapsed":2}`,
		`# p/c`,
		`{"Action":"output","Package":"p/d","Output":"?   \tp/d\t[no test files]\n"}`,
		`{"Action":"skip","Package":"p/d"}`,
	}, "\n") + "\n"
	var out strings.Builder
	failed, err := Summarize(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	want := `ok    p/a	1.2s
    bad_test.go:9: got 1, want 2
--- FAIL: TestBad (0.00s)
FAIL  p/b	2.0s
# p/c
-     p/d	(no test files)

1 tests and subtests passed, 1 failed, 3 skipped
skipped, by reason:
     2  SETU_TEST_POSTGRES_DSN is not set
        in p/a, p/b
     1  (no reason given)
        in p/b
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if failed, _ := Summarize(strings.NewReader(`{"Action":"pass","Package":"p/a"}`+"\n"), &strings.Builder{}); failed {
		t.Error("a passing run reported as failed")
	}
}
