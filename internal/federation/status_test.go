package federation_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

// TestStatusNoFalseLag: the row about reaching a peer's server is there
// while it cannot be reached; once it answers again the row goes, rather
// than showing the time it came back as a lag that grows while syncing
// works. Rows of collections keep their lag.
func TestStatusNoFalseLag(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	for i, name := range []string{"JP", "KR"} {
		if err := db.CreatePeer(ctx, store.Peer{Name: name, URL: "https://127.0.0.1:1/", CertSHA256: [32]byte{byte(i + 1)}, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []store.SyncCursor{
		// Failed once, answers again since t0.
		{Peer: "JP", Direction: store.SyncIn, Collection: federation.ServerCursor, LastSuccess: t0},
		{Peer: "JP", Direction: store.SyncIn, Collection: "c1", LastSuccess: t0.Add(time.Hour)},
		// Cannot be reached now.
		{Peer: "KR", Direction: store.SyncPush, Collection: federation.ServerCursor, LastSuccess: t0, LastError: "connection refused"},
	} {
		if err := db.SetSyncCursor(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(3 * time.Hour)
	ps, err := federation.Status(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{}
	for _, p := range ps {
		for _, c := range p.Cursors {
			got[p.Peer+"/"+c.Direction+"/"+c.Collection] = c.Lag
		}
	}
	want := map[string]time.Duration{"JP/in/c1": 2 * time.Hour, "KR/push/": 3 * time.Hour}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, lag := range want {
		if got[k] != lag {
			t.Errorf("%s: lag %v, want %v", k, got[k], lag)
		}
	}
	var b bytes.Buffer
	federation.WriteMetrics(&b, ps)
	if strings.Contains(b.String(), `setu_sync_lag_seconds{peer="JP",direction="in",collection=""}`) {
		t.Errorf("metrics show a lag for a server that answers:\n%s", b.String())
	}
	if !strings.Contains(b.String(), `setu_sync_lag_seconds{peer="KR",direction="push",collection=""} 10800`) {
		t.Errorf("metrics lack the lag of a server that cannot be reached:\n%s", b.String())
	}
}
