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
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
	ID      string // the object's id when it could be read
	Outcome Outcome
	Err     error // why it was rejected
	// Ref is the stored version's store.Version.Ref when the store
	// settled it (Added, or a Duplicate of a stored version); zero for a
	// duplicate of an earlier object in the same stream.
	Ref      int64
	Warnings []string // accepted with remarks (e.g. a non-deterministic SCO id)
}

// Summary counts the outcomes of a stream.
type Summary struct {
	Added, Duplicate, Rejected int
	Warnings                   int
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

	mu          sync.Mutex
	markings    map[string][]byte // stored marking definitions; they are immutable
	knownGroups map[string]bool
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

// WithWriter sets the writer of Objects and Stream (default: Operator).
func WithWriter(w Writer) Option { return func(in *Ingester) { in.writer = w } }

// New returns an Ingester writing to st, batch objects per transaction
// (DefaultBatch when batch <= 0).
func New(st Putter, batch int, opts ...Option) *Ingester {
	if batch <= 0 {
		batch = DefaultBatch
	}
	in := &Ingester{st: st, batch: batch, writer: Operator, markings: map[string][]byte{}, knownGroups: map[string]bool{}}
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
	_, err := in.run(ctx, w, collection, next, func(it Item) { items = append(items, it) })
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
		if err := in.store(ctx, pr.w.Audit, collection, b[:n], &sum, report); err != nil {
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
	return in.run(ctx, w, collection, rd.Next, report)
}

// run is the two-stage pipeline: the caller's goroutine frames and validates
// batches; a second goroutine stores them in order.
func (in *Ingester) run(ctx context.Context, w Writer, collection string, next func() ([]byte, int, error), report func(Item)) (Summary, error) {
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
			if err = in.store(ctx, w.Audit, collection, b, &sum, report); err != nil {
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
		if err != nil {
			var fe *stix.FrameError
			if errors.As(err, &fe) && fe.Recoverable {
				batch = append(batch, pending{item: Item{Index: idx, Outcome: Rejected, Err: err}})
			} else {
				frameErr = err
				break
			}
		} else {
			batch = append(batch, in.validate(ctx, w, raw, idx, local, nil))
		}
		if len(batch) == in.batch {
			select {
			case batches <- batch:
			case <-ctx.Done():
			}
			batch = make([]pending, 0, in.batch)
		}
	}
	if len(batch) > 0 && ctx.Err() == nil {
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
		return fail(idOf(err), err)
	}
	if !o.IsSCO() && !w.Relay {
		switch o.CreatedByRef {
		case "":
			// The server names the creator when the object does not; this
			// happens once, at first store, and the result is the object.
			withRef, err := withCreator(o, w.Identity)
			if err != nil {
				return fail(o.ID, err)
			}
			o = withRef
		case w.Identity:
		default:
			return fail(o.ID, fmt.Errorf("%s: %w (created_by_ref is %s, not %s)", o.ID, ErrNotCreator, o.CreatedByRef, w.Identity))
		}
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
	resolve := func(id string) ([]byte, error) { return in.marking(ctx, id, local) }
	facts, err := policy.Classify(o.ObjectMarkingRefs, resolve)
	if err != nil {
		return fail(o.ID, fmt.Errorf("%s: resolving markings: %w", o.ID, err))
	}
	if facts.Granular, err = in.granular(ctx, o, resolve); err != nil {
		return fail(o.ID, fmt.Errorf("%s: resolving granular markings: %w", o.ID, err))
	}
	for _, g := range facts.Groups {
		if err := in.groupExists(ctx, g); err != nil {
			return fail(o.ID, fmt.Errorf("%s: distribution marking names sharing group %q: %w", o.ID, g, err))
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
	released, err := releasedForm(o, w, &facts)
	if err != nil {
		return fail(o.ID, fmt.Errorf("%s: anonymising: %w", o.ID, err))
	}
	v := Version(o)
	v.Submitter, v.Facts, v.Audience = w.Org, facts.Encode(), in.policy.Audience(facts)
	v.Released = released
	return pending{item: Item{Index: idx, ID: o.ID, Warnings: o.Warnings}, v: v, ok: true}
}

// granular classifies each granular marking of o that names a marking
// definition (language markings restrict no one).
func (in *Ingester) granular(ctx context.Context, o *stix.Object, resolve policy.Resolver) ([]policy.Facts, error) {
	if !bytes.Contains(o.Canonical, []byte(`"granular_markings"`)) {
		return nil, nil
	}
	var gm struct {
		GranularMarkings []struct {
			MarkingRef string `json:"marking_ref"`
		} `json:"granular_markings"`
	}
	if err := json.Unmarshal(o.Canonical, &gm); err != nil {
		return nil, err
	}
	var out []policy.Facts
	for _, g := range gm.GranularMarkings {
		if g.MarkingRef == "" {
			continue
		}
		f, err := policy.Classify([]string{g.MarkingRef}, resolve)
		if err != nil {
			return nil, err
		}
		for _, grp := range f.Groups {
			if err := in.groupExists(ctx, grp); err != nil {
				return nil, fmt.Errorf("granular marking names sharing group %q: %w", grp, err)
			}
		}
		out = append(out, f)
	}
	return out, nil
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

// marking returns the body of a marking definition the node knows (seen in
// a stream or stored), or nil if it knows none.
func (in *Ingester) marking(ctx context.Context, id string, local map[string][]byte) ([]byte, error) {
	if _, ok := stix.TLPOf(id); ok {
		return nil, nil // built in
	}
	in.mu.Lock()
	b, ok := in.markings[id]
	in.mu.Unlock()
	if ok {
		return b, nil
	}
	v, err := in.st.Current(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return local[id], nil
	}
	if err != nil {
		return nil, err
	}
	// Only stored definitions are cached across calls: they are immutable,
	// while one seen in a stream may yet be refused by the store.
	in.mu.Lock()
	in.markings[id] = v.Body
	in.mu.Unlock()
	return v.Body, nil
}

// withCreator returns o with created_by_ref set, re-validated and
// canonicalised.
func withCreator(o *stix.Object, identity string) (*stix.Object, error) {
	if identity == "" {
		return o, fmt.Errorf("%s: created_by_ref is absent and the writer has no identity to set", o.ID)
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(o.Canonical, &m); err != nil {
		return o, err
	}
	m["created_by_ref"] = jsontext.Value(`"` + identity + `"`)
	b, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return o, err
	}
	return stix.Parse(b)
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

func (in *Ingester) store(ctx context.Context, rec *audit.Record, collection string, b []pending, sum *Summary, report func(Item)) error {
	vs := make([]store.Version, 0, len(b))
	for _, p := range b {
		if p.ok {
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
	j := 0
	for _, p := range b {
		it := p.item
		if p.ok {
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
				it.Err = fmt.Errorf("%s: %w", it.ID, r.Err)
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
	return nil
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
