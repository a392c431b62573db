package federation

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// CursorStatus is one sync cursor as operators see it.
type CursorStatus struct {
	store.SyncCursor
	// Behind is, for an out or push cursor, how many collection rows wait
	// to be evaluated or sent (capped at MaxBehind); -1 for an in cursor,
	// whose backlog only the peer knows.
	Behind int64
	// Lag is how long ago the cursor last caught up; zero if never.
	Lag time.Duration
}

// MaxBehind caps the rows counted for CursorStatus.Behind.
const MaxBehind = 10000

// PeerStatus is the sync state of one peer: its cursors and counters
// ("in", "out", "released", "duplicate", "errors", "refused:RULE",
// "withheld:RULE", "skipped:path").
type PeerStatus struct {
	Peer    string
	Cursors []CursorStatus
	Counts  map[string]int64
}

// StatusStore is what Status reads.
type StatusStore interface {
	store.Sync
	Query(ctx context.Context, q store.Query) (store.Page, error)
}

// Status reports the sync state of every peer with any, by name.
func Status(ctx context.Context, db StatusStore, now time.Time) ([]PeerStatus, error) {
	cs, err := db.SyncCursors(ctx, "")
	if err != nil {
		return nil, err
	}
	counts, err := db.SyncCounts(ctx, "")
	if err != nil {
		return nil, err
	}
	byPeer := map[string]*PeerStatus{}
	get := func(p string) *PeerStatus {
		if byPeer[p] == nil {
			byPeer[p] = &PeerStatus{Peer: p, Counts: map[string]int64{}}
		}
		return byPeer[p]
	}
	for p, m := range counts {
		get(p).Counts = m
	}
	for _, c := range cs {
		if c.Collection == TermsCursor {
			continue // a record of terms, not a position
		}
		if c.Collection == ServerCursor && c.LastError == "" {
			// The peer's server answers again: the row was there to say
			// why it could not be reached. Kept, its time of recovery
			// would read as a lag that grows while syncing works.
			continue
		}
		st := CursorStatus{SyncCursor: c, Behind: -1}
		if !c.LastSuccess.IsZero() {
			st.Lag = now.Sub(c.LastSuccess)
		}
		if c.Direction != store.SyncIn && c.Collection != ServerCursor {
			pg, err := db.Query(ctx, store.Query{Collection: c.Collection, After: c.Seq,
				Versions: store.VersionFilter{All: true}, Limit: MaxBehind, NoBody: true})
			if err == nil {
				st.Behind = int64(len(pg.Versions))
			}
		}
		ps := get(c.Peer)
		ps.Cursors = append(ps.Cursors, st)
	}
	out := make([]PeerStatus, 0, len(byPeer))
	for _, p := range byPeer {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out, nil
}

// WriteMetrics writes the sync state in the Prometheus text format.
func WriteMetrics(w io.Writer, ps []PeerStatus) {
	fmt.Fprintln(w, "# HELP setu_sync_objects_total Objects moved per peer: in (stored), duplicate, released (into the peer's view), out (sent).")
	fmt.Fprintln(w, "# TYPE setu_sync_objects_total counter")
	for _, p := range ps {
		for _, k := range []string{"in", "duplicate", "released", "out"} {
			fmt.Fprintf(w, "setu_sync_objects_total{peer=%q,kind=%q} %d\n", p.Peer, k, p.Counts[k])
		}
	}
	fmt.Fprintln(w, "# HELP setu_sync_refusals_total Objects refused from or withheld from a peer, by rule.")
	fmt.Fprintln(w, "# TYPE setu_sync_refusals_total counter")
	for _, p := range ps {
		for _, k := range sortedKeys(p.Counts) {
			if r, ok := strings.CutPrefix(k, "refused:"); ok {
				fmt.Fprintf(w, "setu_sync_refusals_total{peer=%q,direction=\"in\",reason=%q} %d\n", p.Peer, r, p.Counts[k])
			} else if r, ok := strings.CutPrefix(k, "withheld:"); ok {
				fmt.Fprintf(w, "setu_sync_refusals_total{peer=%q,direction=\"out\",reason=%q} %d\n", p.Peer, r, p.Counts[k])
			}
		}
	}
	fmt.Fprintln(w, "# HELP setu_sync_errors_total Failed sync attempts per peer.")
	fmt.Fprintln(w, "# TYPE setu_sync_errors_total counter")
	for _, p := range ps {
		fmt.Fprintf(w, "setu_sync_errors_total{peer=%q} %d\n", p.Peer, p.Counts["errors"])
	}
	fmt.Fprintln(w, "# HELP setu_sync_last_success_timestamp_seconds When each cursor last caught up (0: never).")
	fmt.Fprintln(w, "# TYPE setu_sync_last_success_timestamp_seconds gauge")
	for _, p := range ps {
		for _, c := range p.Cursors {
			ts := float64(0)
			if !c.LastSuccess.IsZero() {
				ts = float64(c.LastSuccess.UnixMilli()) / 1000
			}
			fmt.Fprintf(w, "setu_sync_last_success_timestamp_seconds{peer=%q,direction=%q,collection=%q} %g\n", p.Peer, c.Direction, c.Collection, ts)
		}
	}
	fmt.Fprintln(w, "# HELP setu_sync_lag_seconds Time since each cursor last caught up.")
	fmt.Fprintln(w, "# TYPE setu_sync_lag_seconds gauge")
	for _, p := range ps {
		for _, c := range p.Cursors {
			fmt.Fprintf(w, "setu_sync_lag_seconds{peer=%q,direction=%q,collection=%q} %g\n", p.Peer, c.Direction, c.Collection, c.Lag.Seconds())
		}
	}
	fmt.Fprintln(w, "# HELP setu_sync_behind_rows Rows waiting to be evaluated or sent (egress and push cursors).")
	fmt.Fprintln(w, "# TYPE setu_sync_behind_rows gauge")
	for _, p := range ps {
		for _, c := range p.Cursors {
			if c.Behind >= 0 {
				fmt.Fprintf(w, "setu_sync_behind_rows{peer=%q,direction=%q,collection=%q} %d\n", p.Peer, c.Direction, c.Collection, c.Behind)
			}
		}
	}
	fmt.Fprintln(w, "# HELP setu_sync_objects_cursor_total Objects moved under each cursor.")
	fmt.Fprintln(w, "# TYPE setu_sync_objects_cursor_total counter")
	for _, p := range ps {
		for _, c := range p.Cursors {
			fmt.Fprintf(w, "setu_sync_objects_cursor_total{peer=%q,direction=%q,collection=%q} %d\n", p.Peer, c.Direction, c.Collection, c.Objects)
		}
	}
}
