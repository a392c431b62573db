// Package ingest is Setu's one write path. Every way in (TAXII POST, REST,
// CLI import, federation) hands raw STIX objects to an Ingester, which
// decodes and validates them, turns each into a store.Version (canonical
// body, content hash, version time) and stores them in batches, reporting a
// per-object outcome: added, duplicate (an exact duplicate is a success, never
// an error) or rejected with the reason.
//
// Validation of one batch overlaps with the storage of the previous one, so a
// stream is limited by the slower of the two stages rather than their sum.
// Nothing is stored twice: a batch is one store transaction, and re-ingesting
// what was already accepted yields duplicates.
package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/stix/pattern"
	"github.com/setu-cti/setu/internal/store"
)

// DefaultBatch is the number of objects stored per transaction.
const DefaultBatch = 1000

// ImportBatch is the batch for bulk imports from files: each commit is a
// durable sync of the log, and fewer of them make a large import faster.
const ImportBatch = 20 * DefaultBatch

// Putter is the part of store.Store that ingest writes through.
type Putter interface {
	// PutAudited is store.Store's: with a nil record, a plain Put.
	PutAudited(ctx context.Context, collection string, vs []store.Version, record func([]store.Result) []audit.Record) ([]store.Result, error)
	// Current finds the marking definitions objects refer to.
	Current(ctx context.Context, id string) (store.Version, error)
	// Query finds the versions already in a collection that an object
	// its writer may not store would exactly duplicate.
	Query(ctx context.Context, q store.Query) (store.Page, error)
}

// Writer is who submits objects.
type Writer struct {
	// Org is the submitting organisation, recorded as the owner of objects
	// it stores first.
	Org string
	// Identity is the organisation's STIX identity id: objects it creates
	// carry it as created_by_ref (set when absent).
	Identity string
	// Relay lets the writer store objects created by others unchanged (the
	// node operator's imports, feeds, partner nodes); it does not let them
	// version objects another organisation owns.
	Relay bool
	// Anonymous: the organisation asked that others never see it as the
	// creator. Objects it creates are stored as submitted, with a released
	// body naming the node's identity as creator for everyone else.
	Anonymous bool
	// AnonymousToPartners: the same for partner nodes only.
	AnonymousToPartners bool
	// Sectors are the organisation's sectors, kept beside each version it
	// stores first (policy.Facts.Sectors) for agreements that share with
	// some sectors only.
	Sectors []string
	// Via is the partner node the objects were received from (federation
	// ingress): the policy then never relays partner-scoped objects
	// onward, and the audience keys leave out other partners.
	Via string
	// KeepStored: an object whose id and version are already stored with
	// other content (store.ErrConflict) is not refused: the stored content
	// is kept, listed in the collection, and the object reported as a
	// duplicate with Item.Kept set. Meant for feeds that publish the same
	// version with small differences in several bundles (MITRE ATT&CK).
	KeepStored bool
	// Handling is handling the writer assigns to every object it stores
	// (import --tlp and --share): metadata beside the objects, applied
	// on top of their own markings, which it can only narrow.
	Handling policy.Handling
	// Audit, when set, is the record of each stored batch: a copy naming
	// the batch's versions that were added or already there (and, when
	// Audit names none, the collection as the call names it: give its id)
	// is appended to the audit log in the batch's own transaction, so no
	// write is ever committed unrecorded.
	Audit *audit.Record
}

// ErrNotCreator: a writer without relay submitted an object another
// organisation created.
var ErrNotCreator = errors.New("an organisation may only publish objects it creates")

// Outcome of one object.
type Outcome int

const (
	Added Outcome = iota + 1
	Duplicate
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Added:
		return "added"
	case Duplicate:
		return "duplicate"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Item is the outcome for one object of a stream, in stream order.
type Item struct {
	Index   int    // 0-based position in the stream
	Line    int    // 1-based line of the stream where it starts; 0 when not read from a stream
	ID      string // the object's id when it could be read
	Outcome Outcome
	Err     error // why it was rejected
	// Ref is the stored version's store.Version.Ref when the store
	// settled it (Added, or a Duplicate of a stored version); zero for a
	// duplicate of an earlier object in the same stream.
	Ref      int64
	Warnings []string // accepted with remarks (e.g. a non-deterministic SCO id)
	// Kept: the version was already stored with other content, which is
	// kept (Writer.KeepStored); Outcome is Duplicate and Err says how the
	// content differed.
	Kept bool
}

// Summary counts the outcomes of a stream.
type Summary struct {
	Added, Duplicate, Rejected int
	// Kept counts objects whose version was already stored with other
	// content, kept as stored (Writer.KeepStored); they are also counted
	// as Duplicate.
	Kept     int
	Warnings int
}

// Ingester validates and stores objects. The zero value is not usable; build
// one with New. An Ingester is safe for concurrent use.
type Ingester struct {
	st     Putter
	batch  int
	policy policy.Config
	writer Writer
	groups store.Groups

	patterns bool
	warn     *match.Warninglist
	node     string // the node's STIX identity, named in released bodies

	mu          sync.Mutex
	markings    map[string][]byte // stored marking definitions; they are immutable
	knownGroups map[string]bool
	groupIDs    map[string]string // group marking id -> group id, read at groupsRead
	groupsRead  time.Time
}

// Operator is the default writer: the node's operators, relaying what they
// import (feeds, files) unchanged under their organisation.
var Operator = Writer{Org: account.NodeOrg, Identity: account.Org{ID: account.NodeOrg}.IdentityID(), Relay: true}

// Option configures an Ingester.
type Option func(*Ingester)

// WithPolicy sets the policy configuration that fixes each version's
// policy metadata (default: the zero Config).
func WithPolicy(cfg policy.Config) Option { return func(in *Ingester) { in.policy = cfg } }

// WithGroups checks that the sharing groups distribution markings name
// exist (default: not checked).
func WithGroups(g store.Groups) Option { return func(in *Ingester) { in.groups = g } }

// WithPatterns checks the STIX patterns of indicators as they are stored:
// a pattern that does not parse, or that names values on warn (which may
// be nil), is still stored, with a warning that says why it will not be
// evaluated or will not alert.
func WithPatterns(warn *match.Warninglist) Option {
	return func(in *Ingester) { in.patterns, in.warn = true, warn }
}

// WithNodeIdentity sets the node's STIX identity id (its operators'
// organisation's), which an anonymous submission's released body names as
// creator (default: Operator.Identity, the id every node derived alike
// before identities were per node).
func WithNodeIdentity(id string) Option { return func(in *Ingester) { in.node = id } }

// WithWriter sets the writer of Objects and Stream (default: Operator).
func WithWriter(w Writer) Option { return func(in *Ingester) { in.writer = w } }

// New returns an Ingester writing to st, batch objects per transaction
// (DefaultBatch when batch <= 0).
func New(st Putter, batch int, opts ...Option) *Ingester {
	if batch <= 0 {
		batch = DefaultBatch
	}
	in := &Ingester{st: st, batch: batch, writer: Operator, node: Operator.Identity, markings: map[string][]byte{}, knownGroups: map[string]bool{}}
	for _, o := range opts {
		o(in)
	}
	return in
}

// Version converts a validated object into the version the store keeps.
func Version(o *stix.Object) store.Version {
	return store.Version{
		ID:          o.ID,
		Type:        o.Type,
		SpecVersion: o.SpecVersion,
		Created:     o.Created,
		Modified:    o.Modified,
		Revoked:     o.Revoked,
		Hash:        sha256.Sum256(o.Canonical),
		Body:        o.Canonical,
	}
}

// pending is one validated (or rejected) object awaiting storage.
type pending struct {
	item Item
	v    store.Version
	ok   bool
	// deny is why the writer may not store v: it is then stored only if
	// it is an exact duplicate of a version in the collection (a success
	// whoever sends it), and otherwise rejected for this reason.
	deny error
	// retry is the object when its markings named a definition not known
	// when it was validated (see settle).
	retry *stix.Object
}

// Objects ingests a slice of raw objects and returns one Item per object in
// order. The error return is for failures of the store (in which case items
// of unstored batches are absent).
func (in *Ingester) Objects(ctx context.Context, collection string, raws [][]byte) ([]Item, error) {
	return in.ObjectsAs(ctx, in.writer, collection, raws)
}

// ObjectsAs is Objects for an explicit writer.
func (in *Ingester) ObjectsAs(ctx context.Context, w Writer, collection string, raws [][]byte) ([]Item, error) {
	items := make([]Item, 0, len(raws))
	i := 0
	next := func() ([]byte, int, error) {
		if i >= len(raws) {
			return nil, 0, io.EOF
		}
		i++
		return raws[i-1], i - 1, nil
	}
	_, err := in.run(ctx, w, collection, next, nil, func(it Item) { items = append(items, it) })
	return items, err
}

// Prepared is a batch of objects decoded and validated by Prepare for one
// writer, not yet stored: the first half of ObjectsAs, so that a caller
// handling a sequence of batches can validate one while the one before it
// is stored.
type Prepared struct {
	w    Writer
	pend []pending
}

// Prepare decodes and validates raws for w, as ObjectsAs does, without
// storing anything. seen holds the marking definitions met earlier in the
// same sequence of batches, as one stream's are (a stored definition of
// the same id still wins); Prepare adds those of raws to it. Not safe for
// concurrent use with the same seen.
func (in *Ingester) Prepare(ctx context.Context, w Writer, raws [][]byte, seen map[string][]byte) *Prepared {
	return in.PrepareReceived(ctx, w, raws, nil, seen)
}

// PrepareReceived is Prepare for objects received from a partner node,
// with, index for index, what their origin fixed beside each (nil: nothing
// known), which is kept with the version as its own metadata is.
func (in *Ingester) PrepareReceived(ctx context.Context, w Writer, raws [][]byte, recv []*Received, seen map[string][]byte) *Prepared {
	pr := &Prepared{w: w, pend: make([]pending, len(raws))}
	for i, raw := range raws {
		var r *Received
		if i < len(recv) {
			r = recv[i]
		}
		pr.pend[i] = in.validate(ctx, w, raw, i, seen, r)
	}
	in.settle(ctx, pr.pend, seen)
	return pr
}

// Store stores a prepared batch into collection, a transaction per batch
// of the Ingester's size, and returns one Item per object in order, as
// ObjectsAs does. Prepared batches are stored in the order Prepare made
// them, each once.
func (in *Ingester) Store(ctx context.Context, collection string, pr *Prepared) ([]Item, error) {
	items := make([]Item, 0, len(pr.pend))
	report := func(it Item) { items = append(items, it) }
	var sum Summary
	for b := pr.pend; len(b) > 0; {
		n := min(len(b), in.batch)
		if err := in.store(ctx, pr.w.Audit, pr.w.KeepStored, collection, b[:n], &sum, report); err != nil {
			return items, err
		}
		b = b[n:]
	}
	return items, nil
}

// Stream ingests every object framed from r (a bundle, a JSON array, NDJSON
// or a single object). Each object's outcome is passed to report (which may
// be nil) in stream order, after its batch is durably stored. A framing error
// that cannot be recovered from (truncated or malformed JSON outside NDJSON)
// stops the stream: everything before it is stored, and the error is returned
// together with the summary so far.
func (in *Ingester) Stream(ctx context.Context, collection string, r io.Reader, report func(Item)) (Summary, error) {
	return in.StreamAs(ctx, in.writer, collection, r, report)
}

// StreamAs is Stream for an explicit writer.
func (in *Ingester) StreamAs(ctx context.Context, w Writer, collection string, r io.Reader, report func(Item)) (Summary, error) {
	rd := stix.NewReader(r)
	return in.run(ctx, w, collection, rd.Next, rd.Line, report)
}

// run is the two-stage pipeline: the caller's goroutine frames and validates
// batches; a second goroutine stores them in order.
func (in *Ingester) run(ctx context.Context, w Writer, collection string, next func() ([]byte, int, error), line func() int, report func(Item)) (Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	batches := make(chan []pending, 2)
	type done struct {
		sum Summary
		err error
	}
	result := make(chan done, 1)
	go func() {
		var sum Summary
		var err error
		for b := range batches {
			if err != nil {
				continue // drain after a store failure
			}
			if err = in.store(ctx, w.Audit, w.KeepStored, collection, b, &sum, report); err != nil {
				cancel()
			}
		}
		result <- done{sum, err}
	}()

	var frameErr error
	local := map[string][]byte{} // marking definitions seen in this stream
	batch := make([]pending, 0, in.batch)
	for ctx.Err() == nil {
		raw, idx, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		ln := 0
		if line != nil {
			ln = line()
		}
		if err != nil {
			var fe *stix.FrameError
			if errors.As(err, &fe) && fe.Recoverable {
				batch = append(batch, pending{item: Item{Index: idx, Line: ln, Outcome: Rejected, Err: err}})
			} else {
				frameErr = err
				break
			}
		} else {
			p := in.validate(ctx, w, raw, idx, local, nil)
			p.item.Line = ln
			batch = append(batch, p)
		}
		if len(batch) == in.batch {
			in.settle(ctx, batch, local)
			select {
			case batches <- batch:
			case <-ctx.Done():
			}
			batch = make([]pending, 0, in.batch)
		}
	}
	if len(batch) > 0 && ctx.Err() == nil {
		in.settle(ctx, batch, local)
		batches <- batch
	}
	close(batches)
	d := <-result
	if d.err != nil {
		return d.sum, d.err
	}
	if frameErr != nil {
		return d.sum, frameErr
	}
	return d.sum, ctx.Err()
}

// validate decodes and validates one object and applies the write rules
// that need no stored state: created_by_ref (set when absent; the writer's
// own unless relaying) and the policy metadata from its markings. That only
// the owner versions an object is checked by the store, which reads the
// object's current version anyway (store.ErrNotOwner).
func (in *Ingester) validate(ctx context.Context, w Writer, raw []byte, idx int, local map[string][]byte, recv *Received) pending {
	fail := func(id string, err error) pending {
		return pending{item: Item{Index: idx, ID: id, Outcome: Rejected, Err: err}}
	}
	o, err := stix.Parse(raw)
	if err != nil {
		if h := hint(raw); h != "" {
			err = fmt.Errorf("%w (%s)", err, h)
		}
		return fail(idOf(err), err)
	}
	// An object is stored as sent: one without created_by_ref keeps none
	// (its submitter, recorded beside it, owns the id). Naming another
	// creator needs relay; an exact duplicate of a version already in the
	// collection is still a success, decided before this refusal applies.
	var deny error
	if !o.IsSCO() && !w.Relay && o.CreatedByRef != "" && o.CreatedByRef != w.Identity {
		deny = fmt.Errorf("%s: %w (created_by_ref is %s, not %s)", o.ID, ErrNotCreator, o.CreatedByRef, w.Identity)
	}
	if o.Type == "marking-definition" {
		// A distribution marking for a sharing group must name one that
		// exists: a definition for a group nobody can be in would make
		// every object marked with it unreadable.
		if m, err := policy.Interpret(o.ID, o.Canonical); err == nil && m.Kind == policy.KindDistribution && m.Distribution.Scope == policy.ScopeGroup {
			if err := in.groupExists(ctx, m.Distribution.Group); err != nil {
				return fail(o.ID, fmt.Errorf("%s: distribution marking names sharing group %q: %w", o.ID, m.Distribution.Group, err))
			}
		}
		// Objects later in the same stream may refer to it before it is
		// stored; a stored definition of the same id still wins.
		local[o.ID] = o.Canonical
	}
	facts, err := in.classify(ctx, o, local)
	if err != nil {
		return fail(o.ID, err)
	}
	facts = facts.Assign(w.Handling)
	for _, d := range w.Handling.Distribution {
		if d.Scope != policy.ScopeGroup {
			continue
		}
		if err := in.groupExists(ctx, d.Group); err != nil {
			return fail(o.ID, fmt.Errorf("%s: shared with sharing group %q: %w", o.ID, d.Group, err))
		}
	}
	if o.Type == "indicator" && in.patterns {
		o.Warnings = append(o.Warnings, in.checkPattern(o)...)
	}
	facts.Submitter = w.Org
	facts.Via = w.Via
	metadata(&facts, w, recv)
	// Settled once, here: a released body is the only one others (or
	// partner nodes) are served, signed or sent to a partner.
	released, err := in.releasedForm(o, w, &facts)
	if err != nil {
		return fail(o.ID, fmt.Errorf("%s: anonymising: %w", o.ID, err))
	}
	v := Version(o)
	v.Submitter, v.Facts, v.Audience = w.Org, facts.Encode(), in.policy.Audience(facts)
	v.Released = released
	p := pending{item: Item{Index: idx, ID: o.ID, Warnings: o.Warnings}, v: v, ok: true, deny: deny}
	if unresolved(facts) {
		p.retry = o // settle may resolve it from a later definition in the stream
	}
	return p
}

// groupExists checks a sharing group named by a distribution marking.
// Groups are never renamed away under their id, so a found one is cached.
func (in *Ingester) groupExists(ctx context.Context, id string) error {
	if in.groups == nil {
		return nil
	}
	in.mu.Lock()
	ok := in.knownGroups[id]
	in.mu.Unlock()
	if ok {
		return nil
	}
	g, err := in.groups.Group(ctx, id)
	if err != nil {
		return err
	}
	if g.ID != id { // found by name: markings name groups by id
		return fmt.Errorf("%w: no group has id %q", store.ErrNotFound, id)
	}
	in.mu.Lock()
	in.knownGroups[id] = true
	in.mu.Unlock()
	return nil
}

// idOf recovers the object id a validation error names, if any.
func idOf(err error) string {
	var ve *stix.ValidationError
	if errors.As(err, &ve) {
		return ve.ID
	}
	var ves stix.ValidationErrors
	if errors.As(err, &ves) && len(ves) > 0 {
		return ves[0].ID
	}
	return ""
}

func (in *Ingester) store(ctx context.Context, rec *audit.Record, keep bool, collection string, b []pending, sum *Summary, report func(Item)) error {
	dup, err := in.duplicates(ctx, collection, b)
	if err != nil {
		return fmt.Errorf("storing objects %d..%d: %w", b[0].item.Index, b[len(b)-1].item.Index, err)
	}
	vs := make([]store.Version, 0, len(b))
	for _, p := range b {
		if p.ok && p.deny == nil {
			vs = append(vs, p.v)
		}
	}
	var res []store.Result
	if len(vs) > 0 {
		var record func([]store.Result) []audit.Record // nil: Put's
		if rec != nil {
			record = func(rs []store.Result) []audit.Record {
				r := *rec
				r.Objects = nil
				if r.Collection == "" {
					r.Collection = collection
				}
				for i, o := range rs {
					if o.Outcome == store.Added || o.Outcome == store.Duplicate {
						r.Objects = append(r.Objects, vs[i].Key())
					}
				}
				if len(r.Objects) == 0 {
					return nil
				}
				return []audit.Record{r}
			}
		}
		var err error
		res, err = in.st.PutAudited(ctx, collection, vs, record)
		if err != nil {
			return fmt.Errorf("storing objects %d..%d: %w", b[0].item.Index, b[len(b)-1].item.Index, err)
		}
		if len(res) != len(vs) {
			return fmt.Errorf("store returned %d results for %d versions", len(res), len(vs))
		}
	}
	var kept map[int]int64
	if keep {
		var err error
		if kept, err = in.keepStored(ctx, rec, collection, vs, res); err != nil {
			return err
		}
	}
	j := 0
	for _, p := range b {
		it := p.item
		switch {
		case p.ok && p.deny != nil:
			if ref, ok := dup[p.v.Key()]; ok && ref.hash == p.v.Hash {
				it.Outcome, it.Ref = Duplicate, ref.ref
			} else {
				it.Outcome, it.Err = Rejected, p.deny
			}
		case p.ok:
			r := res[j]
			j++
			it.Ref = r.Ref
			switch r.Outcome {
			case store.Added:
				it.Outcome = Added
			case store.Duplicate:
				it.Outcome = Duplicate
			default:
				it.Outcome = Rejected
				it.Err = r.Err
				if !strings.HasPrefix(r.Err.Error(), it.ID) {
					it.Err = fmt.Errorf("%s: %w", it.ID, r.Err)
				}
				if ref, ok := kept[j-1]; ok {
					it.Outcome, it.Ref, it.Kept = Duplicate, ref, true
					sum.Kept++
				}
			}
		}
		switch it.Outcome {
		case Added:
			sum.Added++
		case Duplicate:
			sum.Duplicate++
		case Rejected:
			sum.Rejected++
		}
		if len(it.Warnings) > 0 {
			sum.Warnings++
		}
		if report != nil {
			report(it)
		}
	}
	if err := in.listMarkings(ctx, rec, collection, vs, res); err != nil {
		return err
	}
	if err := in.recordRelations(ctx, vs, res); err != nil {
		return err
	}
	return in.resolveAwaiting(ctx, b, res)
}

// keepStored lists in the collection the stored versions that versions of
// vs conflicted with (same id and version, other content), and returns
// their refs by index in res. The stored version is found as the object's
// current one; a conflict with an older version stays a rejection.
func (in *Ingester) keepStored(ctx context.Context, rec *audit.Record, collection string, vs []store.Version, res []store.Result) (map[int]int64, error) {
	var idx []int
	var cur []store.Version
	for i, r := range res {
		if r.Outcome != store.Rejected || !errors.Is(r.Err, store.ErrConflict) {
			continue
		}
		c, err := in.st.Current(ctx, vs[i].ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		vt := vs[i].Modified
		if vt.IsZero() {
			vt = vs[i].Created
		}
		if !c.VersionTime.Equal(vt) {
			continue
		}
		idx, cur = append(idx, i), append(cur, c)
	}
	if len(cur) == 0 {
		return nil, nil
	}
	var record func([]store.Result) []audit.Record
	if rec != nil {
		record = func(rs []store.Result) []audit.Record {
			r := *rec
			r.Objects = nil
			if r.Collection == "" {
				r.Collection = collection
			}
			for i, o := range rs {
				if o.Outcome == store.Added || o.Outcome == store.Duplicate {
					r.Objects = append(r.Objects, cur[i].Key())
				}
			}
			if len(r.Objects) == 0 {
				return nil
			}
			return []audit.Record{r}
		}
	}
	rs, err := in.st.PutAudited(ctx, collection, cur, record)
	if err != nil {
		return nil, fmt.Errorf("listing stored versions kept: %w", err)
	}
	out := map[int]int64{}
	for k, r := range rs {
		if r.Outcome == store.Added || r.Outcome == store.Duplicate {
			out[idx[k]] = r.Ref
		}
	}
	return out, nil
}

// stored is what duplicates reports of a version in a collection.
type stored struct {
	hash [32]byte
	ref  int64
}

// duplicates finds, for the objects of b the writer may not store, the
// versions of their ids already in the collection, by version key: an
// exact duplicate among them is a success before any authorisation. One
// query for the batch; none when every object is authorised.
func (in *Ingester) duplicates(ctx context.Context, collection string, b []pending) (map[string]stored, error) {
	var ids []string
	for _, p := range b {
		if p.ok && p.deny != nil && !slices.Contains(ids, p.v.ID) {
			ids = append(ids, p.v.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out := map[string]stored{}
	q := store.Query{Collection: collection, IDs: ids, Versions: store.VersionFilter{All: true}, NoBody: true, Limit: 1000}
	for {
		pg, err := in.st.Query(ctx, q)
		if errors.Is(err, store.ErrNotFound) {
			return out, nil // no such collection: nothing is a duplicate
		}
		if err != nil {
			return nil, err
		}
		for i := range pg.Versions {
			v := &pg.Versions[i]
			out[v.Key()] = stored{hash: v.Hash, ref: v.Ref}
		}
		if !pg.More {
			return out, nil
		}
		q.After = pg.Last
	}
}

// checkPattern returns warnings about an indicator's STIX pattern: one that
// does not parse is never evaluated, one that names warninglisted values
// never alerts on them.
func (in *Ingester) checkPattern(o *stix.Object) []string {
	var ind struct {
		Pattern     string `json:"pattern"`
		PatternType string `json:"pattern_type"`
	}
	if err := json.Unmarshal(o.Canonical, &ind); err != nil || ind.PatternType != "stix" {
		return nil
	}
	p, err := pattern.Parse(ind.Pattern)
	if err != nil {
		return []string{fmt.Sprintf("%s: pattern is not evaluable and will never match: %v", o.ID, err)}
	}
	if in.warn == nil {
		return nil
	}
	var out []string
	for _, w := range in.warn.Flag(p) {
		out = append(out, fmt.Sprintf("%s: pattern names a warninglisted value, never alerted on: %s", o.ID, w))
	}
	return out
}
