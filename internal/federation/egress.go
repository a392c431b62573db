package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

// NodeSubmitter is the submitter (owner) recorded for objects received
// from partner nodes: the origin node, so that only the origin may version
// or revoke them whichever path they came by.
func NodeSubmitter(node string) string { return "node:" + node }

// originOf names the origin node of a stored version received from a
// partner; ok is false for this node's own objects.
func originOf(v *store.Version) (string, bool) { return strings.CutPrefix(v.Submitter, "node:") }

// releasedBody is the only body a peer ever gets: an anonymous
// submission's released form, else the object as stored.
func releasedBody(v *store.Version) []byte {
	if v.Released != nil {
		return v.Released
	}
	return v.Body
}

// egress brings a peer's view up to date with the agreement's outbound
// collections: each collection is followed by its commit-ordered sequence
// from a durable cursor, so nothing committed is ever skipped, and a
// version already in the view is a duplicate there and never re-sent.
func (e *Engine) egress(ctx context.Context, p store.Peer, a *Agreement) error {
	view, err := e.ensureView(ctx, p.Name)
	if err != nil {
		return err
	}
	// The peer's sharing groups are read once a round rather than fixed
	// at ingest, since membership changes.
	groups, err := e.cfg.DB.PeerGroups(ctx, p.Name)
	if err != nil {
		return err
	}
	hash := terms(a, groups, e.cfg.Policy)
	for _, name := range a.Outbound {
		c, err := e.cfg.DB.Collection(ctx, name)
		if err != nil {
			return err
		}
		cur, err := e.cursor(ctx, p.Name, store.SyncOut, c.ID)
		if err != nil {
			return err
		}
		if cur.Agreement != hash {
			// What the previous terms (agreement or membership) withheld
			// may now be released; what they released is a duplicate in
			// the view.
			cur.Seq, cur.Agreement = 0, hash
		}
		// The first batch of a round is one page, so the peer has
		// something to pull at once; later ones are larger.
		limit := e.cfg.PageSize
		deferred := false
		for {
			pg, err := e.cfg.DB.Query(ctx, store.Query{Collection: c.ID, After: cur.Seq,
				Versions: store.VersionFilter{All: true}, Limit: limit})
			limit = max(e.cfg.PageSize, egressBatch)
			if err != nil {
				return e.fail(ctx, cur, err)
			}
			if len(pg.Versions) == 0 {
				break
			}
			n, done, err := e.release(ctx, p, a, groups, view, pg.Versions)
			if err != nil {
				return e.fail(ctx, cur, err)
			}
			last := pg.Last
			if done < len(pg.Versions) {
				// A received version whose provenance is still being
				// stored: the cursor stops before it and the next round
				// starts there.
				last = cur.Seq
				if done > 0 {
					last = pg.Versions[done-1].Seq
				}
			}
			cur.Seq, cur.Objects, cur.LastError = last, cur.Objects+int64(n), ""
			if n > 0 {
				e.progress(p.Name)
			}
			if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
				return err
			}
			if deferred = done < len(pg.Versions); deferred || !pg.More {
				break
			}
		}
		if deferred {
			continue // not caught up
		}
		cur.LastSuccess, cur.LastError = e.cfg.Now().UTC(), ""
		if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
			return err
		}
	}
	return nil
}

// terms is what a cursor's position was evaluated under, in either
// direction: the agreement, the sharing groups the peer is a member of
// and the node's default TLP. When they change, what was withheld or
// refused under the old ones may now cross, so egress evaluates its
// collections again and ingress pulls them again, from the start: what
// already crossed is an exact duplicate, which costs little.
func terms(a *Agreement, groups []string, cfg policy.Config) [32]byte {
	h := a.Hash()
	d := sha256.New()
	d.Write(h[:])
	d.Write([]byte{0, byte(cfg.DefaultLevel())})
	for _, g := range slices.Sorted(slices.Values(groups)) {
		d.Write([]byte{0})
		d.Write([]byte(g))
	}
	return [32]byte(d.Sum(nil))
}

// egressBatch is how many versions egress decides, signs (a page at a
// time) and puts in a view at once, after a round's first page: each
// batch is a few writes, and a write of rows with random keys costs less
// per row the more rows it holds. One page of the default size: two
// gained nothing measurable and held twice the versions in memory.
const egressBatch = 5000

// provInfo is what the stored provenance says of one version.
type provInfo struct {
	base  *Provenance     // as received, or the origin's signature
	toP   bool            // a record as sent to this peer exists
	nodes map[string]bool // every node on every path it came by
}

// provenanceGrace is how long after a received version is stored egress
// waits for the provenance it arrived with, which ingress stores just
// after the version (and stores again if it stopped in between, as the
// page is then pulled again). Past it, the version is withheld for good.
// Only versions whose origin signs (a node whose key is known) are waited
// for.
const provenanceGrace = 2 * time.Minute

// release decides a batch of versions (in sequence order) for the peer
// and puts those released into its view. It returns how many were new to
// the view, and how many of vs it decided: all of them, unless it met a
// version received less than provenanceGrace ago whose provenance is not
// stored yet, which it stops before, to be decided in a later round.
// groups are the sharing groups this node's registry lists the peer in.
func (e *Engine) release(ctx context.Context, p store.Peer, a *Agreement, groups []string, view string, vs []store.Version) (int, int, error) {
	// Only what this node received has paths to check and records to
	// forward; its own objects are signed afresh each time, and the store
	// keeps the first signature, which is the one served.
	var lookup []int64
	for i := range vs {
		if _, received := originOf(&vs[i]); received {
			lookup = append(lookup, vs[i].Ref)
		}
	}
	info, err := e.provenanceInfo(ctx, lookup, p.Name)
	if err != nil {
		return 0, 0, err
	}
	now := e.cfg.Now()
	for i := range vs {
		v := &vs[i]
		origin, received := originOf(v)
		if !received || now.Sub(v.DateAdded) >= provenanceGrace {
			continue
		}
		if in := info[v.Ref]; in == nil || in.base == nil || in.base.Origin.Node != origin {
			// Objects of a plain TAXII server (a peer without a signing
			// key) never have provenance: nothing to wait for.
			if _, err := e.peerKey(origin); err == nil {
				vs = vs[:i]
				break
			}
		}
	}
	done := len(vs)
	withheld := map[string][]string{}
	counts := map[string]int64{}
	cand := make([]*store.Version, 0, len(vs))
	// Objects of a collection share a few distinct facts: each is decided
	// once per batch, and runs of versions with the same facts (a feed's,
	// an import's) look nothing up.
	decided := map[string]policy.Decision{}
	var (
		prev  *store.Version
		prevD policy.Decision
	)
	for i := range vs {
		v := &vs[i]
		if v.Type == "marking-definition" && isDistributionDef(v) {
			// Every node derives these from the scope; they are never
			// content to release.
			continue
		}
		var d policy.Decision
		if prev != nil && v.Type == prev.Type && v.Submitter == prev.Submitter && bytes.Equal(v.Facts, prev.Facts) &&
			(v.Released == nil) == (prev.Released == nil) {
			d = prevD
		} else {
			// Whether a released form exists matters only to versions
			// stored before attribution was recorded (see ObjectOf).
			dk := v.Type + "\x00" + v.Submitter + "\x00" + string(v.Facts)
			if v.Released != nil {
				dk += "\x00r"
			}
			var ok bool
			if d, ok = decided[dk]; !ok {
				d = a.Decide(e.cfg.Policy, p.Country, groups, v)
				decided[dk] = d
			}
			prev, prevD = v, d
		}
		if !d.Allow {
			withheld[d.Rule] = append(withheld[d.Rule], v.Key())
			counts["withheld:"+d.Rule]++
			continue
		}
		cand = append(cand, v)
	}
	var (
		put      = make([]store.Version, 0, len(cand))
		sign     = make([][]byte, 0, len(cand))
		metas    = make([]*Meta, 0, len(cand))
		metaOf   = map[string]*Meta{} // by facts: a batch shares a few
		signRefs = make([]int64, 0, len(cand))
		fwd      []Forward
		fwdRefs  []int64
		signing  = make(map[int64]bool, len(cand))
	)
	for _, v := range cand {
		in := info[v.Ref]
		if in == nil {
			in = &provInfo{}
		}
		origin, received := originOf(v)
		switch {
		case in.nodes[p.Name] || origin == p.Name:
			// Never back along a path it came by.
			counts["skipped:path"]++
			continue
		case in.toP:
		case received && (in.base == nil || in.base.Origin.Node != origin):
			// Without the provenance it arrived with (from its owner), the
			// object's origin cannot be shown to the peer; this node will
			// not pass it off as its own.
			withheld["provenance-missing"] = append(withheld["provenance-missing"], v.Key())
			counts["withheld:provenance-missing"]++
			continue
		case received:
			fwd = append(fwd, Forward{Body: releasedBody(v), Provenance: *in.base})
			fwdRefs = append(fwdRefs, v.Ref)
		case !signing[v.Ref]:
			// Signed with the handling it is released under and the
			// submitter's sectors, so the peer handles it as this node
			// does rather than by its own defaults.
			m, ok := metaOf[string(v.Facts)]
			if !ok {
				m = MetaOf(e.cfg.Policy, policy.DecodeFacts(v.Facts, v.Submitter))
				if m.validate() != nil {
					m = nil // e.g. a group id no partner could read
				}
				metaOf[string(v.Facts)] = m
			}
			if m == nil {
				withheld["handling-unsendable"] = append(withheld["handling-unsendable"], v.Key())
				counts["withheld:handling-unsendable"]++
				continue
			}
			signing[v.Ref] = true
			sign = append(sign, releasedBody(v))
			signRefs = append(signRefs, v.Ref)
			metas = append(metas, m)
		}
		put = append(put, *v)
	}
	var recs []store.ProvenanceRecord
	// Signed a page at a time, so a proof stays as long as a page's; stored
	// per signed batch: the root and the leaves once, and per version its
	// position.
	var signed, hopped []*Provenance
	for start := 0; start < len(sign); start += e.cfg.PageSize {
		end := min(start+e.cfg.PageSize, len(sign))
		ps, err := SignMeta(e.cfg.Node.Signer(), now, sign[start:end], metas[start:end])
		if err != nil {
			return 0, 0, err
		}
		signed = append(signed, pointers(ps)...)
	}
	for i, r := range storeProvenance(signed) {
		recs = append(recs, store.ProvenanceRecord{Version: signRefs[i], Record: r[0], Shared: r[1]})
	}
	for start := 0; start < len(fwd); start += e.cfg.PageSize {
		ps, err := AddHop(e.cfg.Node.Signer(), p.Name, now, fwd[start:min(start+e.cfg.PageSize, len(fwd))])
		if err != nil {
			return 0, 0, err
		}
		hopped = append(hopped, pointers(ps)...)
	}
	for i, r := range storeProvenance(hopped) {
		recs = append(recs, store.ProvenanceRecord{Version: fwdRefs[i], Route: p.Name, Record: r[0], Shared: r[1]})
	}
	// Provenance is durable before the versions enter the view, so the
	// peer is never served a version without it.
	stored, err := e.cfg.DB.PutProvenance(ctx, recs)
	if err != nil {
		return 0, 0, err
	}
	// What the peer will be served: the record stored now, for its own
	// objects under route "" (they are never forwarded, so no record for
	// the peer's route exists) and for forwarded ones under the peer's.
	var fresh []store.ProvenanceRecord
	for i, r := range recs {
		if stored[i] {
			fresh = append(fresh, r)
		}
	}
	e.served.put(p.Name, fresh)
	added := 0
	if len(put) > 0 {
		// The release is recorded in the transaction that makes it.
		var record func([]store.Result) []audit.Record
		if e.cfg.Audit != nil {
			record = func(rs []store.Result) []audit.Record {
				rec := audit.Record{Actor: "peer:" + p.Name, Action: "release", Path: "federation:egress",
					Collection: view, Rule: "agreement", Status: 200}
				for i, r := range rs {
					if r.Outcome == store.Added {
						rec.Objects = append(rec.Objects, put[i].Key())
					}
				}
				if len(rec.Objects) == 0 {
					return nil
				}
				return []audit.Record{rec}
			}
		}
		res, err := e.cfg.DB.PutAudited(ctx, view, put, record)
		if err != nil {
			return 0, 0, err
		}
		for i, r := range res {
			switch r.Outcome {
			case store.Added:
				added++
			case store.Rejected:
				counts["withheld:store"]++
				e.log.Warn("sync: version not put in the view", "peer", p.Name, "id", put[i].ID, "err", r.Err)
			}
		}
	}
	counts["released"] += int64(added)
	for _, rule := range sortedKeys(withheld) {
		if err := e.audit(ctx, p.Name, "withhold", "federation:egress", view, rule, withheld[rule]); err != nil {
			return 0, 0, err
		}
	}
	return added, done, e.cfg.DB.AddSyncCounts(ctx, p.Name, counts)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// provenanceInfo reads the stored provenance of versions (Refs) as it
// concerns peer.
func (e *Engine) provenanceInfo(ctx context.Context, versions []int64, peer string) (map[int64]*provInfo, error) {
	out := make(map[int64]*provInfo, len(versions))
	for _, k := range versions {
		out[k] = &provInfo{nodes: map[string]bool{}}
	}
	recs, err := e.cfg.DB.Provenance(ctx, versions, nil)
	if err != nil {
		return nil, err
	}
	var dec storedDecoder
	for _, r := range recs {
		in := out[r.Version]
		if in == nil {
			continue
		}
		switch {
		case r.Route == peer:
			in.toP = true
			continue
		case r.Route != "" && !strings.HasPrefix(r.Route, "<-"):
			continue // as sent to another peer
		}
		pr, err := dec.decode(r)
		if err != nil {
			continue // a record this node cannot read proves nothing
		}
		for _, n := range pr.nodes() {
			in.nodes[n] = true
		}
		if r.Route == "" {
			in.base = pr
		}
	}
	for _, in := range out {
		// This node's own release is a path through it, not through the peer.
		delete(in.nodes, e.cfg.Node.Name)
	}
	return out, nil
}

// isDistributionDef reports whether a stored marking definition is a Setu
// distribution marking.
func isDistributionDef(v *store.Version) bool {
	m, err := policy.Interpret(v.ID, v.Body)
	return err == nil && m.Kind == policy.KindDistribution
}

func pointers[T any](vs []T) []*T {
	out := make([]*T, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}
