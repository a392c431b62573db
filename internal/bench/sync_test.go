package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestSyncTiny runs the sync phase at a tiny size so that it keeps
// working; timings are not checked.
func TestSyncTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two setu serve processes")
	}
	var out, errs bytes.Buffer
	rep, err := Run(t.Context(), Config{N: 300, Small: 10, Only: []string{"sync"}, Stdout: &out, Stderr: &errs})
	if err != nil {
		t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", err, out.Bytes(), errs.Bytes())
	}
	t.Logf("\n%s", out.Bytes())
	for _, prefix := range []string{"baseline  bare TAXII pull", "sync      initial sync", "sync      idle round", "memory    sync source", "memory    sync receiving"} {
		if !strings.Contains(out.String(), "\n"+prefix) {
			t.Errorf("output has no line starting %q", prefix)
		}
	}
	if got, want := countTargets(rep), 4; got != want {
		t.Errorf("%d figures with a target, want %d", got, want)
	}
}
