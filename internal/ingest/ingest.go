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

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// DefaultBatch is the number of objects stored per transaction.
const DefaultBatch = 1000

// Putter is the part of store.Store that ingest writes through.
type Putter interface {
	Put(ctx context.Context, collection string, vs []store.Version) ([]store.Result, error)
}

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
	Index    int    // 0-based position in the stream
	ID       string // the object's id when it could be read
	Outcome  Outcome
	Err      error    // why it was rejected
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
	st    Putter
	batch int
}

// New returns an Ingester writing to st, batch objects per transaction
// (DefaultBatch when batch <= 0).
func New(st Putter, batch int) *Ingester {
	if batch <= 0 {
		batch = DefaultBatch
	}
	return &Ingester{st: st, batch: batch}
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
	items := make([]Item, 0, len(raws))
	i := 0
	next := func() ([]byte, int, error) {
		if i >= len(raws) {
			return nil, 0, io.EOF
		}
		i++
		return raws[i-1], i - 1, nil
	}
	_, err := in.run(ctx, collection, next, func(it Item) { items = append(items, it) })
	return items, err
}

// Stream ingests every object framed from r (a bundle, a JSON array, NDJSON
// or a single object). Each object's outcome is passed to report (which may
// be nil) in stream order, after its batch is durably stored. A framing error
// that cannot be recovered from (truncated or malformed JSON outside NDJSON)
// stops the stream: everything before it is stored, and the error is returned
// together with the summary so far.
func (in *Ingester) Stream(ctx context.Context, collection string, r io.Reader, report func(Item)) (Summary, error) {
	rd := stix.NewReader(r)
	return in.run(ctx, collection, rd.Next, report)
}

// run is the two-stage pipeline: the caller's goroutine frames and validates
// batches; a second goroutine stores them in order.
func (in *Ingester) run(ctx context.Context, collection string, next func() ([]byte, int, error), report func(Item)) (Summary, error) {
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
			if err = in.store(ctx, collection, b, &sum, report); err != nil {
				cancel()
			}
		}
		result <- done{sum, err}
	}()

	var frameErr error
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
			batch = append(batch, validate(raw, idx))
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

func validate(raw []byte, idx int) pending {
	o, err := stix.Parse(raw)
	if err != nil {
		return pending{item: Item{Index: idx, ID: idOf(err), Outcome: Rejected, Err: err}}
	}
	return pending{item: Item{Index: idx, ID: o.ID, Warnings: o.Warnings}, v: Version(o), ok: true}
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

func (in *Ingester) store(ctx context.Context, collection string, b []pending, sum *Summary, report func(Item)) error {
	vs := make([]store.Version, 0, len(b))
	for _, p := range b {
		if p.ok {
			vs = append(vs, p.v)
		}
	}
	var res []store.Result
	if len(vs) > 0 {
		var err error
		res, err = in.st.Put(ctx, collection, vs)
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
