package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

// Targets of the sharing-policy figures.
const (
	targetGateCost = 1.5 // whole pass through the gate / the same pass on the bare store
	shareEvery     = 100 // one object in shareEvery goes to the sharing group: 1%
	sharePage      = 100 // limit of a group member's pages
)

// The parties of the policy figures. The submitting organisation shares
// one object in a hundred with a sharing group and keeps the rest to itself;
// the member belongs to the group but did not submit anything, so what it
// sees reaches it through the group's audience key and the
// distribution-group rule, not through the "own" rule. The outsider is in no
// group and must see nothing.
const (
	policyOwner    = "bench-owner"
	policyMember   = "bench-member"
	policyOutsider = "bench-outsider"
	policyGroup    = "9a3e7c1b-2f4d-4e6a-8b0c-5d1e2f3a4b5c" // opaque, as group ids are
)

var (
	// memberReader may read the 1% shared with the group.
	memberReader = policy.Reader{User: "bench-member-analyst", Org: policyMember, Groups: []string{policyGroup}}
	// localReader is a user of an organisation that submitted nothing: it
	// sees the operator's GREEN imports through the node key.
	localReader = policy.Reader{User: "bench-analyst", Org: "bench-reader"}
)

// policyStores are the stores the policy figures read, filled through the
// real write path with the node's policy configuration.
type policyStores struct {
	large, small     store.Store
	all              string // collection id in large: N operator imports any local user may read
	shared, sharedSm string // collection ids in large and small: the 1% construction
}

func (p *policyStores) close() {
	for _, st := range []store.Store{p.large, p.small} {
		if st != nil {
			st.Close()
		}
	}
}

// policy measures what the read policy costs: a whole-collection pass
// through policy.Gate against the same pass on the bare store, and the page
// time of a reader who may see 1% of a collection at N objects against the
// same construction at Small.
func (r *runner) policy(ctx context.Context) error {
	cfg := r.cfg
	start := time.Now()
	ps, err := buildPolicyStores(ctx, cfg.Dir, cfg.Seed, cfg.N, cfg.Small)
	if ps != nil {
		defer ps.close()
	}
	if err != nil {
		return err
	}
	r.printf("setup     sqlite policy stores through ingest.Ingester: %s + %s objects (1%% shared) + %s (1%% shared) in %s",
		comma(cfg.N), comma(cfg.N), comma(cfg.Small), secs(time.Since(start)))
	gate := policy.NewGate(ps.large, policy.Config{})
	if err := r.gateCost(ctx, gate, ps.large, ps.all); err != nil {
		return err
	}
	return r.shareScale(ctx, ps)
}

// buildPolicyStores creates (afresh) the stores of the policy figures in dir.
func buildPolicyStores(ctx context.Context, dir string, seed uint64, n, small int) (*policyStores, error) {
	ps := &policyStores{}
	var err error
	largeDB, smallDB := filepath.Join(dir, "policy.db"), filepath.Join(dir, "policy-small.db")
	for _, db := range []string{largeDB, smallDB} {
		if err := removeDB(db); err != nil {
			return ps, err
		}
	}
	if ps.large, err = openStore(ctx, "sqlite", largeDB); err != nil {
		return ps, err
	}
	if ps.small, err = openStore(ctx, "sqlite", smallDB); err != nil {
		return ps, err
	}
	// The operator's imports use another seed than the shared collection,
	// so no version is in both: a version keeps the policy metadata of its
	// first store, and each collection must carry its own.
	plain := Indicators{Seed: seed + 1, Size: objectSize}
	if ps.all, err = fill(ctx, ps.large, "policy-all", ingest.Operator, n, plain.Append); err != nil {
		return ps, err
	}
	for _, s := range []struct {
		st   store.Store
		n    int
		coll *string
	}{{ps.large, n, &ps.shared}, {ps.small, small, &ps.sharedSm}} {
		if err := storeMarkings(ctx, s.st); err != nil {
			return ps, err
		}
		if *s.coll, err = fill(ctx, s.st, "policy-shared", ownerWriter, s.n, sharedObject(seed)); err != nil {
			return ps, err
		}
	}
	return ps, nil
}

var ownerWriter = ingest.Writer{Org: policyOwner, Identity: account.Org{ID: policyOwner}.IdentityID()}

var (
	groupMarking = policy.Distribution{Scope: policy.ScopeGroup, Group: policyGroup}
	orgMarking   = policy.Distribution{Scope: policy.ScopeOrg}
)

// storeMarkings stores the distribution marking definitions the shared
// collection refers to, as the node's operators publish them: without them
// the write path could not interpret the references, and every object would
// stay with its submitter. They go in a collection of their own, where the
// write path finds them all the same, so the shared collection holds the
// indicators alone and the member's count is exactly 1%.
func storeMarkings(ctx context.Context, st store.Store) error {
	var raws [][]byte
	for _, d := range []policy.Distribution{groupMarking, orgMarking} {
		b, err := d.MarkingDefinition()
		if err != nil {
			return err
		}
		raws = append(raws, b)
	}
	c := store.Collection{ID: uuid.NewString(), Alias: "policy-markings", Title: "policy-markings"}
	if err := st.CreateCollection(ctx, c); err != nil {
		return err
	}
	items, err := ingest.New(st, 0).Objects(ctx, c.ID, raws)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Outcome != ingest.Added {
			return fmt.Errorf("marking definition %s: %v %v", it.ID, it.Outcome, it.Err)
		}
	}
	return nil
}

// sharedObject generates object i of the shared collection: the indicator
// the generator makes, created by the owner, with a distribution marking
// beside its TLP marking: the group's for one index in shareEvery (index 0
// included, so even a store of one object shares one), the owner's own
// organisation's for the rest.
func sharedObject(seed uint64) func(dst []byte, i int) []byte {
	gen := Indicators{Seed: seed, Size: objectSize, Creator: ownerWriter.Identity}
	refs := []byte(`"object_marking_refs":["` + tlpGreen + `"]`)
	withGroup := []byte(`"object_marking_refs":["` + tlpGreen + `","` + groupMarking.MarkingID() + `"]`)
	withOrg := []byte(`"object_marking_refs":["` + tlpGreen + `","` + orgMarking.MarkingID() + `"]`)
	var buf []byte
	return func(dst []byte, i int) []byte {
		buf = gen.Append(buf[:0], i)
		k := bytes.Index(buf, refs)
		with := withOrg
		if i%shareEvery == 0 {
			with = withGroup
		}
		dst = append(dst, buf[:k]...)
		dst = append(dst, with...)
		return append(dst, buf[k+len(refs):]...)
	}
}

// isShared reports whether object i of the shared collection goes to the group.
func isShared(i int) bool { return i%shareEvery == 0 }

// sharedCount is how many of n objects go to the group.
func sharedCount(n int) int { return (n + shareEvery - 1) / shareEvery }

// fill creates a collection and streams n generated objects into it as w,
// through the pipelined write path a large import takes.
func fill(ctx context.Context, st store.Store, alias string, w ingest.Writer, n int, object func([]byte, int) []byte) (string, error) {
	c := store.Collection{ID: uuid.NewString(), Alias: alias, Title: alias,
		MediaTypes: []string{"application/stix+json;version=2.1"}}
	if err := st.CreateCollection(ctx, c); err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		var line []byte
		for i := range n {
			line = append(object(line[:0], i), '\n')
			if _, err := bw.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(bw.Flush())
	}()
	var firstErr error
	sum, err := ingest.New(st, 0, ingest.WithPolicy(policy.Config{})).StreamAs(ctx, w, c.ID, pr, func(it ingest.Item) {
		if it.Outcome == ingest.Rejected && firstErr == nil {
			firstErr = it.Err
		}
	})
	pr.Close() // stops the generator if the stream ended early
	if err != nil {
		return "", fmt.Errorf("%s: %w", alias, err)
	}
	if sum.Added != n {
		return "", fmt.Errorf("%s: added %d of %d objects (duplicate %d, rejected %d; first rejection: %v)",
			alias, sum.Added, n, sum.Duplicate, sum.Rejected, firstErr)
	}
	return c.ID, nil
}

// gateCost times a whole pass through a collection every object of which
// the reader may see, through the gate and on the bare store. The passes
// run bare, gate, gate, bare after one unrecorded bare pass that warms the
// caches, so a drift in the machine's speed during the figure weighs on
// both sides alike.
func (r *runner) gateCost(ctx context.Context, gate *policy.Gate, st store.Store, coll string) error {
	n := r.cfg.N
	bare := func() (int, error) {
		q := store.Query{Collection: coll, Limit: pageSize}
		seen := 0
		for {
			p, err := st.Query(ctx, q)
			if err != nil {
				return seen, err
			}
			seen += len(p.Versions)
			if !p.More {
				return seen, nil
			}
			q.After = p.Last
		}
	}
	gated := func() (int, error) {
		q := store.Query{Collection: coll, Limit: pageSize}
		seen := 0
		for {
			p, err := gate.Query(ctx, localReader, q)
			if err != nil {
				return seen, err
			}
			if p.More && len(p.Versions) != pageSize {
				return seen, fmt.Errorf("gate page after %d: %d objects and more", q.After, len(p.Versions))
			}
			seen += len(p.Versions)
			if !p.More {
				return seen, nil
			}
			q.After = p.Last
		}
	}
	var tBare, tGate time.Duration
	for k, pass := range []struct {
		gated, record bool
	}{{false, false}, {false, true}, {true, true}, {true, true}, {false, true}} {
		f := bare
		if pass.gated {
			f = gated
		}
		start := time.Now()
		seen, err := f()
		d := time.Since(start)
		if err != nil {
			return err
		}
		if seen != n {
			return fmt.Errorf("policy pass %d (gated %v): saw %d objects, want %d", k, pass.gated, seen, n)
		}
		switch {
		case !pass.record:
		case pass.gated:
			tGate += d
		default:
			tBare += d
		}
	}
	ratio := float64(tGate) / float64(max(tBare, 1))
	r.figure(true, ratio <= targetGateCost,
		"gate      sqlite, all %s objects by cursor, %s a page, through policy.Gate as a local reader: %s vs %s by bare store.Query (baseline) = %.2f× (target <= %.1f×), %s of %s seen, two passes each",
		comma(n), comma(pageSize), secs(tGate/2), secs(tBare/2), ratio, targetGateCost, comma(n), comma(n))
	return nil
}

// shareScale checks what a group member sees of the shared collections
// (exactly the shared objects, in full pages; an outsider sees none) and
// times its pages at N against Small. Both sides time full pages of the same
// size, so the pages are smaller than sharePage when the small store shares
// too few objects to fill two of them (see below).
func (r *runner) shareScale(ctx context.Context, ps *policyStores) error {
	cfg := r.cfg
	type side struct {
		gate *policy.Gate
		coll string
		n    int
		seqs []int64 // the member's rows, in order
		page []time.Duration
	}
	large := &side{gate: policy.NewGate(ps.large, policy.Config{}), coll: ps.shared, n: cfg.N}
	small := &side{gate: policy.NewGate(ps.small, policy.Config{}), coll: ps.sharedSm, n: cfg.Small}
	var pages int
	for _, s := range []*side{large, small} {
		seqs, np, err := memberPass(ctx, s.gate, s.coll, s.n, Indicators{Seed: cfg.Seed})
		if err != nil {
			return fmt.Errorf("policy: the group member's pass at %s objects: %w", comma(s.n), err)
		}
		s.seqs = seqs
		if s == large {
			pages = np
		}
		p, err := s.gate.Query(ctx, policy.Reader{User: "bench-outsider-analyst", Org: policyOutsider}, store.Query{Collection: s.coll, Limit: sharePage})
		if err != nil {
			return err
		}
		if len(p.Versions) != 0 {
			return fmt.Errorf("policy: a reader outside the group sees %d objects at %s", len(p.Versions), comma(s.n))
		}
	}

	// The gate settles More by reading on past a full page until it finds
	// one more row the reader may see, so a timed page must have at least
	// another full page behind it on both sides: a page at the end of the
	// small collection would skip that read and flatter the baseline. The
	// default small store shares 40 objects, so its pages are of 19.
	limit := max(min(sharePage, (len(small.seqs)-1)/2), 1)
	// A fixed seed: the same cursors in every run.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5ea7))
	pageAt := func(s *side, record bool) error {
		k := rng.IntN(max(len(s.seqs)-2*limit, 1))
		q := store.Query{Collection: s.coll, After: s.seqs[k] - 1, Limit: limit}
		start := time.Now()
		p, err := s.gate.Query(ctx, memberReader, q)
		d := time.Since(start)
		if err != nil {
			return err
		}
		if len(p.Versions) != limit || p.Versions[0].Seq != s.seqs[k] || p.Last != s.seqs[k+limit-1] {
			return fmt.Errorf("policy: member's page after %d at %s: %d objects, want the %d from seq %d",
				q.After, comma(s.n), len(p.Versions), limit, s.seqs[k])
		}
		if record {
			s.page = append(s.page, d)
		}
		return nil
	}
	samples := max(cfg.Samples/10, 5)
	// The first tenth warm the caches and are not recorded.
	for i := range samples + samples/10 {
		for _, s := range []*side{large, small} {
			if err := pageAt(s, i >= samples/10); err != nil {
				return err
			}
		}
	}
	pl, psm := median(large.page), median(small.page)
	ratio := float64(pl) / float64(max(psm, 1))
	r.figure(true, ratio <= targetScale,
		"share     sqlite, a page of %s through policy.Gate for a group member who may see 1%%: median %s at %s vs %s at %s (baseline) = %.2f× (target <= %.0f×), %s samples at random cursors",
		comma(limit), dur(pl), comma(large.n), dur(psm), comma(small.n), ratio, targetScale, comma(len(large.page)))
	r.printf("          member saw %s of %s objects (%.2f%%) in %s pages of up to %s, exactly the shared ones; at %s, %s of %s; a reader outside the group saw none",
		comma(len(large.seqs)), comma(large.n), 100*float64(len(large.seqs))/float64(large.n), comma(pages), comma(sharePage),
		comma(small.n), comma(len(small.seqs)), comma(small.n))
	return nil
}

// memberPass pages through a shared collection of n objects as the group
// member, sharePage at a time, and checks that it sees exactly the shared
// objects, in order, every page but the last full. It returns the rows' seqs
// and the number of pages.
func memberPass(ctx context.Context, gate *policy.Gate, coll string, n int, gen Indicators) ([]int64, int, error) {
	want := make([]string, 0, sharedCount(n))
	for i := range n {
		if isShared(i) {
			want = append(want, gen.ID(i))
		}
	}
	var got []string
	var seqs []int64
	pages := 0
	q := store.Query{Collection: coll, Limit: sharePage, NoBody: true}
	for {
		p, err := gate.Query(ctx, memberReader, q)
		if err != nil {
			return nil, pages, err
		}
		pages++
		if p.More && len(p.Versions) != sharePage {
			return nil, pages, fmt.Errorf("page %d: %d objects and more", pages, len(p.Versions))
		}
		for k, v := range p.Versions {
			if d := p.Decisions[k]; d.Rule != "distribution-group" {
				return nil, pages, fmt.Errorf("%s allowed by rule %s, want distribution-group", v.ID, d.Rule)
			}
			got = append(got, v.ID)
			seqs = append(seqs, v.Seq)
		}
		if !p.More {
			break
		}
		q.After = p.Last
	}
	if !slices.Equal(got, want) {
		return nil, pages, fmt.Errorf("saw %d objects, want the %d shared ones in order", len(got), len(want))
	}
	return seqs, pages, nil
}
