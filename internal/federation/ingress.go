package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// ErrPin: the server presented a certificate other than the one pinned.
var ErrPin = errors.New("the peer's certificate does not match the pinned fingerprint")

// HTTPClient is an HTTP client for talking to peer p over mutual TLS: it
// presents the node's certificate and accepts only the server certificate
// whose SHA-256 is pinned for the peer (peers use self-signed
// certificates, so there is no CA to check against).
func HTTPClient(n *Node, p store.Peer, timeout time.Duration) *http.Client {
	pin := p.CertSHA256
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{n.Certificate()},
		// Verification is the pin below, not a CA chain.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || sha256.Sum256(raw[0]) != pin {
				return ErrPin
			}
			return nil
		},
	}
	tr := &http.Transport{
		TLSClientConfig:       tc,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr}
}

// peerClient is a TAXII client for one peer, kept across rounds so that
// connections stay open (a TLS handshake costs more than an idle round
// moves), with the peer's collections as last listed.
type peerClient struct {
	key    string // what the client was built from
	cl     *taxii.Client
	root   string
	cols   []taxii.Collection
	listed time.Time
}

// relist is how long a peer's collection list is trusted: an idle round
// then costs one request per collection.
const relist = 5 * time.Minute

// client returns the TAXII client for the peer, its API root and its
// collections.
func (e *Engine) client(ctx context.Context, p store.Peer, need func(taxii.Collection) bool) (*peerClient, error) {
	key := fmt.Sprintf("%s|%x|%s", p.URL, p.CertSHA256, p.Token)
	e.mu.Lock()
	pc := e.clients[p.Name]
	e.mu.Unlock()
	if pc != nil && pc.key == key && e.cfg.Now().Sub(pc.listed) < relist && slices.ContainsFunc(pc.cols, need) {
		return pc, nil
	}
	if pc == nil || pc.key != key {
		opts := []taxii.ClientOption{taxii.WithHTTPClient(HTTPClient(e.cfg.Node, p, 2*time.Minute)),
			taxii.WithUserAgent("setu-sync"), taxii.WithMaxResponseBytes(256 << 20)}
		if p.Token != "" {
			opts = append(opts, taxii.WithBearerToken(p.Token))
		}
		cl, err := taxii.NewClient(p.URL, opts...)
		if err != nil {
			return nil, err
		}
		// The peer's URL may be its server's root, its discovery URL or
		// an API root: discovery says which API root to sync with.
		root, err := cl.FindAPIRoot(ctx)
		if err != nil {
			return nil, err
		}
		pc = &peerClient{key: key, cl: cl, root: root}
	}
	cols, err := pc.cl.Collections(ctx, pc.root)
	if err != nil {
		// The API root is looked for again next time: the peer may have
		// moved it.
		e.mu.Lock()
		delete(e.clients, p.Name)
		e.mu.Unlock()
		return nil, err
	}
	next := &peerClient{key: pc.key, cl: pc.cl, root: pc.root, cols: cols.Collections, listed: e.cfg.Now()}
	e.mu.Lock()
	e.clients[p.Name] = next
	e.mu.Unlock()
	return next, nil
}

// ServerCursor is the collection name of the cursor on which a failure
// to reach a peer's server at all (connection, TLS, authentication,
// listing its collections) is recorded: it comes before any collection's
// cursor exists, and an operator must still see why a peer never synced.
const ServerCursor = ""

// reach returns a client for the peer's server, recording a failure on
// the ServerCursor of dir and clearing it once the server answers again.
func (e *Engine) reach(ctx context.Context, p store.Peer, dir string, need func(taxii.Collection) bool) (*peerClient, error) {
	pc, err := e.client(ctx, p, need)
	cur, cerr := e.cfg.DB.SyncCursor(ctx, p.Name, dir, ServerCursor)
	switch {
	case errors.Is(cerr, store.ErrNotFound):
		if err == nil {
			return pc, nil // never failed: no record to keep
		}
		cur = store.SyncCursor{Peer: p.Name, Direction: dir, Collection: ServerCursor}
	case cerr != nil:
		return nil, cerr
	}
	if err != nil {
		return nil, e.fail(ctx, cur, err)
	}
	if cur.LastError != "" {
		cur.LastError, cur.LastSuccess = "", e.cfg.Now().UTC()
		if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
			return nil, err
		}
	}
	return pc, nil
}

// readable and writable are what pull and push need of a peer's
// collections; a cached list without one is listed again, since a peer
// opens its view to this node only once its own agreement is applied.
func readable(c taxii.Collection) bool { return c.CanRead }
func writable(c taxii.Collection) bool { return c.CanWrite }

// forget drops a peer's cached collection list after a failure, so the
// next round lists them again.
func (e *Engine) forget(peer string) {
	e.mu.Lock()
	if pc := e.clients[peer]; pc != nil {
		e.clients[peer] = &peerClient{key: pc.key, cl: pc.cl, root: pc.root}
	}
	e.mu.Unlock()
}

// pull fetches every collection the peer lets this node read, each from
// its durable cursor: added_after is the X-TAXII-Date-Added-Last of the
// last page fully ingested (the server's clock, so skew between the two
// nodes cannot skip objects), and next within a run.
//
// A cursor evaluated under other terms (see terms) starts again from the
// start, since what they refused may now be accepted. With once, every
// collection is pulled from the start without durable cursors: the
// re-offer of a node whose partner pushes (see reoffer).
func (e *Engine) pull(ctx context.Context, p store.Peer, a *Agreement, once bool) error {
	inbound, err := e.cfg.DB.Collection(ctx, a.Inbound)
	if err != nil {
		return err
	}
	groups, err := e.cfg.DB.PeerGroups(ctx, p.Name)
	if err != nil {
		return err
	}
	now := terms(a, groups, e.cfg.Policy)
	pc, err := e.reach(ctx, p, store.SyncIn, readable)
	if err != nil {
		return err
	}
	save := func(c store.SyncCursor) error {
		if once {
			return nil
		}
		return e.cfg.DB.SetSyncCursor(ctx, c)
	}
	fail := func(c store.SyncCursor, err error) error {
		if once {
			return err
		}
		return e.fail(ctx, c, err)
	}
	cl, root := pc.cl, pc.root
	for _, c := range pc.cols {
		if !c.CanRead {
			continue
		}
		cur := store.SyncCursor{Peer: p.Name, Direction: store.SyncIn, Collection: c.ID}
		if !once {
			if cur, err = e.cursor(ctx, p.Name, store.SyncIn, c.ID); err != nil {
				return err
			}
		}
		if cur.Agreement != now {
			cur.Added, cur.Agreement = time.Time{}, now
		}
		f := taxii.Filter{AddedAfter: cur.Added, Limit: e.cfg.PageSize, Versions: taxii.VersionMatch{All: true}}
		// Three stages, each a page ahead of the next: the next page
		// crosses the network while one is checked and validated and the
		// one before it is stored.
		sn := newSeen()
		checked := func(yield func(checkedPage, error) bool) {
			for pg, err := range prefetch(ctx, cl.AllObjects(ctx, root, c.ID, f)) {
				if err != nil {
					yield(checkedPage{}, fetchError{err})
					return
				}
				var prov jsontext.Value
				if pg.Envelope.Extra != nil {
					prov = pg.Envelope.Extra[EnvelopeProperty]
				}
				in, err := e.check(ctx, p, a, pg.Envelope.Objects, prov, sn)
				if !yield(checkedPage{pg: pg, in: in}, err) || err != nil {
					return
				}
			}
		}
		for cp, err := range prefetch(ctx, checked) {
			var fe fetchError
			if errors.As(err, &fe) {
				e.forget(p.Name)
				return fail(cur, fe.err)
			}
			if err != nil {
				return fail(cur, err)
			}
			pg := cp.pg
			errs, err := e.commit(ctx, p, inbound.ID, cp.in)
			if err != nil {
				return fail(cur, err)
			}
			for _, err := range errs {
				if err == nil {
					cur.Objects++
					e.progress(p.Name)
				}
			}
			if !pg.Headers.DateAddedLast.IsZero() {
				cur.Added = pg.Headers.DateAddedLast
			}
			cur.LastError = ""
			if err := save(cur); err != nil {
				return err
			}
		}
		cur.LastSuccess, cur.LastError = e.cfg.Now().UTC(), ""
		if err := save(cur); err != nil {
			return err
		}
	}
	return nil
}

// TermsCursor is the collection name of the cursor on which a node whose
// partner pushes to it keeps the terms (see terms) its inbound objects
// were last decided under.
const TermsCursor = "(terms)"

// reoffer is pull's part in push mode, where the peer sends: when this
// node's terms with the peer (its agreement, the peer's groups, its
// default TLP) have changed since objects were last decided, what the old
// terms refused is fetched again by pulling the peer's view once from the
// start. The peer's own push cursor has long passed it. It reports
// whether it contacted the peer.
func (e *Engine) reoffer(ctx context.Context, p store.Peer, a *Agreement) (bool, error) {
	groups, err := e.cfg.DB.PeerGroups(ctx, p.Name)
	if err != nil {
		return false, err
	}
	now := terms(a, groups, e.cfg.Policy)
	mark, err := e.cfg.DB.SyncCursor(ctx, p.Name, store.SyncIn, TermsCursor)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The first terms: nothing was decided under others.
		return false, e.cfg.DB.SetSyncCursor(ctx, store.SyncCursor{Peer: p.Name, Direction: store.SyncIn,
			Collection: TermsCursor, Agreement: now, LastSuccess: e.cfg.Now().UTC()})
	case err != nil:
		return false, err
	case mark.Agreement == now:
		return false, nil
	}
	if err := e.pull(ctx, p, a, true); err != nil {
		return true, err
	}
	mark.Agreement, mark.LastSuccess = now, e.cfg.Now().UTC()
	return true, e.cfg.DB.SetSyncCursor(ctx, mark)
}

// Refusal is why an object from a peer was not accepted; Rule is a stable
// code counted per peer and recorded in the audit log.
type Refusal struct {
	Rule string
	Err  error
}

func (r *Refusal) Error() string { return r.Rule + ": " + r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// provenanceRule names a provenance failure.
func provenanceRule(err error) string {
	switch {
	case errors.Is(err, ErrLoop):
		return "provenance-loop"
	case errors.Is(err, ErrUnknownOrigin), errors.Is(err, ErrUnknownNode):
		return "provenance-unknown-node"
	case errors.Is(err, ErrMisdirected):
		return "provenance-misdirected"
	case errors.Is(err, ErrMalformed):
		return "provenance-malformed"
	}
	return "provenance-signature"
}

// storeRule names a refusal by the write path.
func storeRule(err error) string {
	switch {
	case errors.Is(err, store.ErrNotOwner):
		return "not-owner"
	case errors.Is(err, store.ErrRevoked):
		return "revoked"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	}
	return "invalid"
}

// inItem is one object received, on its way to the write path.
type inItem struct {
	idx    int
	raw    []byte
	key    string
	origin string
	prov   *Provenance
	recv   *ingest.Received // what the origin fixed beside it
}

// receive decides objects received from peer p (pulled, or pushed to
// collection coll): provenance verified, sender and agreement checked,
// then the one write path as the origin node, so the store refuses a
// version of an object another node owns. It returns one error per object
// (nil: accepted, including a version already stored) and records
// refusals in the counters and the audit log.
func (e *Engine) receive(ctx context.Context, p store.Peer, a *Agreement, coll string, objects []jsontext.Value, provRaw jsontext.Value) ([]error, error) {
	in, err := e.check(ctx, p, a, objects, provRaw, newSeen())
	if err != nil {
		return nil, err
	}
	return e.commit(ctx, p, coll, in)
}

// seen is what the checks of a sequence of pages from one peer learn, as
// one stream would: the marking definitions met or looked up (receive's
// and the write path's own).
type seen struct {
	markings map[string][]byte
	ingest   map[string][]byte
}

func newSeen() *seen { return &seen{markings: map[string][]byte{}, ingest: map[string][]byte{}} }

// inbound is a page received from a peer, checked and validated by the
// write path, not yet stored.
type inbound struct {
	errs    []error
	refused map[string][]string
	counts  map[string]int64
	missing *ingest.Prepared // well-known definitions to store first
	runs    []inRun
}

// inRun is a run of objects of one origin, in the order received.
type inRun struct {
	items []inItem
	prep  *ingest.Prepared
}

// refuse records object i as refused under rule, naming it in the audit
// log by its envelope key (it was not stored, so it is named as the peer
// named it).
func (in *inbound) refuse(i int, key, rule string, err error) {
	in.errs[i] = &Refusal{Rule: rule, Err: err}
	if key == "" {
		key = fmt.Sprintf("object[%d]", i)
	}
	in.refused[rule] = append(in.refused[rule], key)
	in.counts["refused:"+rule]++
}

// check is the half of receive that stores nothing: provenance, sender
// and agreement checks, and the write path's validation. Pages checked
// with the same seen must be committed in the order they were checked.
func (e *Engine) check(ctx context.Context, p store.Peer, a *Agreement, objects []jsontext.Value, provRaw jsontext.Value, sn *seen) (*inbound, error) {
	in := &inbound{errs: make([]error, len(objects)), refused: map[string][]string{}, counts: map[string]int64{}}
	var provs map[string]*Provenance
	var provErr error
	if len(provRaw) > 0 {
		provs, provErr = DecodeEnvelope(provRaw)
	}
	// A Setu partner (one whose signing key is known) must prove the
	// origin of everything it sends; a plain TAXII server cannot, and its
	// objects are taken as its own.
	setu := len(p.SigningKey) > 0 || len(provRaw) > 0
	// Sharing groups as the registry has them now, since membership
	// changes: those the sender is a member of, and, read only when a
	// marking is neither stored nor met before, those known here (a group
	// marking is derived only for a group created here too).
	peerGroups, err := e.cfg.DB.PeerGroups(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	var known []store.Group
	knownRead := false
	local := sn.markings
	var missing [][]byte
	resolve := func(id string) ([]byte, error) {
		if _, ok := stix.TLPOf(id); ok {
			return nil, nil
		}
		if b, ok := local[id]; ok {
			return b, nil
		}
		v, err := e.cfg.DB.Current(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if !knownRead {
				if known, err = e.cfg.DB.ListGroups(ctx); err != nil {
					return nil, err
				}
				knownRead = true
			}
			if b := wellKnownMarking(id, e.cfg.Node.Country, known); b != nil {
				// Every node derives the same definition from the scope,
				// so it is stored here rather than taken from the peer.
				local[id] = b
				missing = append(missing, b)
				return b, nil
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		local[id] = v.Body // definitions are immutable
		return v.Body, nil
	}
	var items []inItem
	for i, raw := range objects {
		// The write path validates the object; what is needed before it
		// (the version's key, markings, provenance) comes from a light read.
		o, err := peek(raw)
		if err != nil {
			in.refuse(i, "", "invalid", err)
			continue
		}
		key := o.key
		origin := p.Name
		var rec *Provenance
		var recv *ingest.Received
		if setu {
			if provErr != nil {
				in.refuse(i, key, provenanceRule(provErr), provErr)
				continue
			}
			pr := provs[key]
			if pr == nil {
				in.refuse(i, key, "provenance-missing", errors.New("no provenance for this version"))
				continue
			}
			if err := e.verifyBody(pr, o); err != nil {
				in.refuse(i, key, provenanceRule(err), err)
				continue
			}
			if s := pr.Sender(); s != p.Name {
				in.refuse(i, key, "provenance-sender", fmt.Errorf("last signed by %s, but %s sent it", s, p.Name))
				continue
			}
			origin = pr.Origin.Node
			rec = pr
			recv = pr.Meta.Received()
		}
		facts, err := policy.Classify(o.ObjectMarkingRefs, resolve)
		if err != nil {
			return nil, err
		}
		obj := Object{Type: o.Type, Facts: facts, Residency: facts.Resident}
		if recv != nil {
			// Handled as its origin released it (its default TLP, say),
			// never more widely than its markings say here; with the
			// sectors of the organisation that submitted it there.
			obj.Facts = obj.Facts.Assign(recv.Handling)
			obj.Residency, obj.Sectors = obj.Facts.Resident, recv.Sectors
		}
		if o.Type == "marking-definition" {
			local[o.ID] = o.body()
		}
		if o.Type == "marking-definition" && isDistributionMarking(o.ID, o.body()) {
			// The vocabulary of distribution, not content: an object that
			// names one is checked against the agreement itself.
		} else if d := a.Releases(e.cfg.Policy, e.cfg.Node.Country, peerGroups, obj); !d.Allow {
			in.refuse(i, key, "inbound:"+d.Rule, errors.New(d.Reason))
			continue
		}
		items = append(items, inItem{idx: i, raw: raw, key: key, origin: origin, prov: rec, recv: recv})
	}
	// The write path sees the definitions to be stored first, as it would
	// once they were.
	if len(missing) > 0 {
		w := ingest.Operator
		w.Audit = e.received(p.Name)
		in.missing = e.ingest.Prepare(ctx, w, missing, sn.ingest)
	}
	// Runs of one origin keep the order objects came in, so a marking
	// definition is stored before the objects that refer to it.
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && items[end].origin == items[start].origin {
			end++
		}
		run := items[start:end]
		raws := make([][]byte, len(run))
		recvs := make([]*ingest.Received, len(run))
		for j := range run {
			raws[j], recvs[j] = run[j].raw, run[j].recv
		}
		w := ingest.Writer{Org: NodeSubmitter(run[0].origin), Relay: true, Via: p.Name, Audit: e.received(p.Name)}
		in.runs = append(in.runs, inRun{items: run, prep: e.ingest.PrepareReceived(ctx, w, raws, recvs, sn.ingest)})
		start = end
	}
	return in, ctx.Err()
}

// received is the audit record of each batch stored from peer: the write
// path appends it in the batch's own transaction, naming the batch's
// collection and versions. nil when the node keeps no audit log.
func (e *Engine) received(peer string) *audit.Record {
	if e.cfg.Audit == nil {
		return nil
	}
	return &audit.Record{Actor: "peer:" + peer, Action: "receive", Path: "federation:ingress", Rule: "agreement", Status: 200}
}

// commit is the half of receive that stores: the objects checked (each
// batch with its audit record), then the provenance they arrived with,
// then the records of refusals and the counters.
func (e *Engine) commit(ctx context.Context, p store.Peer, coll string, in *inbound) ([]error, error) {
	if in.missing != nil {
		res, err := e.ingest.Store(ctx, coll, in.missing)
		if err != nil {
			return nil, err
		}
		for _, it := range res {
			if it.Outcome == ingest.Rejected {
				return nil, fmt.Errorf("storing distribution marking %s: %w", it.ID, it.Err)
			}
		}
	}
	var (
		arrived  []*Provenance
		provRefs []int64
	)
	for _, run := range in.runs {
		res, err := e.ingest.Store(ctx, coll, run.prep)
		if err != nil {
			return nil, err
		}
		for j, it := range res {
			item := run.items[j]
			switch it.Outcome {
			case ingest.Added, ingest.Duplicate:
				// A copy of an object met earlier in the same pull has no
				// Ref of its own; the first copy's provenance stands for it.
				if item.prov != nil && it.Ref != 0 {
					arrived = append(arrived, item.prov)
					provRefs = append(provRefs, it.Ref)
				}
				if it.Outcome == ingest.Added {
					in.counts["in"]++
				} else {
					in.counts["duplicate"]++
				}
			default:
				in.refuse(item.idx, item.key, storeRule(it.Err), it.Err)
			}
		}
	}
	recs := make([]store.ProvenanceRecord, len(arrived))
	for i, r := range storeProvenance(arrived) {
		recs[i] = store.ProvenanceRecord{Version: provRefs[i], Record: r[0], Shared: r[1]}
	}
	if err := e.putArrivals(ctx, p.Name, recs); err != nil {
		return nil, err
	}
	for _, rule := range sortedKeys(in.refused) {
		if err := e.audit(ctx, p.Name, "refuse", "federation:ingress", coll, rule, in.refused[rule]); err != nil {
			return nil, err
		}
		e.log.Warn("sync: objects refused", "peer", p.Name, "rule", rule, "count", len(in.refused[rule]))
	}
	return in.errs, e.cfg.DB.AddSyncCounts(ctx, p.Name, in.counts)
}

// Receive decides objects a peer pushed into a collection; only the
// agreement's inbound collection takes them.
func (e *Engine) Receive(ctx context.Context, peer, coll string, objects []jsontext.Value, prov jsontext.Value) ([]error, error) {
	p, a, err := e.agreement(ctx, peer)
	if err != nil {
		return nil, err
	}
	in, err := e.cfg.DB.Collection(ctx, a.Inbound)
	if err != nil || in.ID != coll {
		errs := make([]error, len(objects))
		for i := range errs {
			errs[i] = &Refusal{Rule: "inbound-collection", Err: errors.New("not the collection the agreement names for this peer")}
		}
		return errs, nil
	}
	return e.receive(ctx, p, a, coll, objects, prov)
}

// agreement returns a peer and the agreement in force with it.
func (e *Engine) agreement(ctx context.Context, peer string) (store.Peer, *Agreement, error) {
	p, err := e.cfg.DB.Peer(ctx, peer)
	if err != nil {
		return p, nil, err
	}
	rec, err := e.cfg.DB.Agreement(ctx, peer)
	if err != nil {
		return p, nil, err
	}
	a, err := ParseAgreement(rec.Body)
	return p, a, err
}

// push sends the peer's view, from a durable cursor, to the collection
// the peer lets this node write (its inbound collection for this node).
func (e *Engine) push(ctx context.Context, p store.Peer, a *Agreement) error {
	view := ViewID(p.Name)
	pc, err := e.reach(ctx, p, store.SyncPush, writable)
	if err != nil {
		return err
	}
	cl, root := pc.cl, pc.root
	target := ""
	for _, c := range pc.cols {
		if c.CanWrite {
			target = c.ID
			break
		}
	}
	if target == "" {
		return fmt.Errorf("%s lets this node write no collection", p.Name)
	}
	cur, err := e.cursor(ctx, p.Name, store.SyncPush, view)
	if err != nil {
		return err
	}
	gate := policy.NewGate(e.cfg.DB, e.cfg.Policy)
	for {
		pg, err := gate.Query(ctx, policy.Reader{Peer: p.Name, Country: p.Country}, store.Query{Collection: view, After: cur.Seq,
			Versions: store.VersionFilter{All: true}, Limit: e.cfg.PageSize})
		if err != nil {
			return e.fail(ctx, cur, err)
		}
		if len(pg.Versions) == 0 {
			break
		}
		env := taxii.Envelope{}
		for _, v := range pg.Versions {
			env.Objects = append(env.Objects, jsontext.Value(v.Body))
		}
		if len(p.SigningKey) > 0 {
			prov, err := e.PeerProvenance(ctx, p.Name, pg.Versions)
			if err != nil {
				return e.fail(ctx, cur, err)
			}
			if prov != nil {
				env.Extra = map[string]jsontext.Value{EnvelopeProperty: prov}
			}
		} else if err := e.cfg.DB.AddSyncCounts(ctx, p.Name, map[string]int64{"out": int64(len(pg.Versions))}); err != nil {
			return err
		}
		body, err := json.Marshal(env)
		if err != nil {
			return err
		}
		if _, err := cl.AddEnvelope(ctx, root, target, body); err != nil {
			e.forget(p.Name)
			return e.fail(ctx, cur, err)
		}
		if err := e.audit(ctx, p.Name, "release", "federation:push", view, "agreement", auditNames(pg.Versions)); err != nil {
			return err
		}
		cur.Seq, cur.Objects, cur.LastError = pg.Last, cur.Objects+int64(len(pg.Versions)), ""
		if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
			return err
		}
		if !pg.More {
			break
		}
	}
	cur.LastSuccess, cur.LastError = e.cfg.Now().UTC(), ""
	return e.cfg.DB.SetSyncCursor(ctx, cur)
}

// auditNames names stored versions as the audit log does.
func auditNames(vs []store.Version) []string {
	out := make([]string, len(vs))
	for i := range vs {
		out[i] = vs[i].Key()
	}
	return out
}

// PeerProvenance is the x_setu_provenance member for versions served to
// peer: for each, the record as sent to that peer if this node forwarded
// it, else its origin record. It also counts the versions as sent.
func (e *Engine) PeerProvenance(ctx context.Context, peer string, vs []store.Version) (jsontext.Value, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	chosen := make(map[int64]store.ProvenanceRecord, len(vs))
	var lookup []int64
	for i := range vs {
		k := vs[i].Ref
		if r, ok := e.served.get(peer, k); ok {
			chosen[k] = r
		} else {
			lookup = append(lookup, k)
		}
	}
	var recs []store.ProvenanceRecord
	if len(lookup) > 0 {
		var err error
		if recs, err = e.cfg.DB.Provenance(ctx, lookup, []string{"", peer}); err != nil {
			return nil, err
		}
	}
	for _, r := range recs {
		if _, ok := chosen[r.Version]; !ok || r.Route == peer {
			chosen[r.Version] = r
		}
	}
	// Written by hand: keys are the versions' envelope keys and records
	// either stored JSON or rebuilt provenance, both valid JSON already;
	// the encoder would re-validate every byte of every page.
	var dec storedDecoder
	b := make([]byte, 0, 1024*len(chosen))
	b = append(b, '{')
	first := true
	for i := range vs {
		r, ok := chosen[vs[i].Ref]
		if !ok {
			continue
		}
		delete(chosen, vs[i].Ref) // an object listed twice is one member
		k := KeyOf(&vs[i])
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		if b, err = jsontext.AppendQuote(b, k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if r.Shared == nil {
			if !jsontext.Value(r.Record).IsValid() {
				return nil, fmt.Errorf("stored provenance of %s is not JSON: %w", k, ErrMalformed)
			}
			b = append(b, r.Record...)
			continue
		}
		pr, err := dec.decode(r)
		if err != nil {
			return nil, fmt.Errorf("stored provenance of %s: %w", k, err)
		}
		b = pr.appendJSON(b)
	}
	b = append(b, '}')
	// Counted in memory and stored by the peer's loop: a write here would
	// wait for the store's one writer on every page served.
	e.count(peer, "out", int64(len(vs)))
	return jsontext.Value(b), nil
}

// PeerByCert finds the peer pinned to a certificate fingerprint.
func (e *Engine) PeerByCert(ctx context.Context, fp [32]byte) (store.Peer, error) {
	ps, err := e.cfg.DB.ListPeers(ctx)
	if err != nil {
		return store.Peer{}, err
	}
	for _, p := range ps {
		if p.CertSHA256 == fp {
			return p, nil
		}
	}
	return store.Peer{}, store.ErrNotFound
}

// PeerAccess opens to a peer its view (read) and, for push, the inbound
// collection its agreement names (write).
func (e *Engine) PeerAccess(ctx context.Context, peer, coll string) (read, write bool, err error) {
	if coll == ViewID(peer) {
		read = true
	}
	_, a, err := e.agreement(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		return read, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if a.Inbound != "" {
		c, err := e.cfg.DB.Collection(ctx, a.Inbound)
		if err == nil && c.ID == coll {
			write = true
		}
	}
	return read, write, nil
}

// isDistributionMarking reports whether a marking definition is a Setu
// distribution marking without recipients.
func isDistributionMarking(id string, body []byte) bool {
	m, err := policy.Interpret(id, body)
	return err == nil && m.Kind == policy.KindDistribution && len(m.Distribution.Recipients) == 0
}

// peeked is what receive reads of an object before the write path.
type peeked struct {
	ID                string    `json:"id"`
	Type              string    `json:"type"`
	Created           time.Time `json:"created,omitzero"`
	Modified          time.Time `json:"modified,omitzero"`
	ObjectMarkingRefs []string  `json:"object_marking_refs,omitzero"`

	raw       []byte
	canonical []byte // set on demand
	key       string
}

// peek reads an object's id, version and markings and its envelope key.
func peek(raw []byte) (*peeked, error) {
	var o peeked
	if err := json.Unmarshal(raw, &o, json.RejectUnknownMembers(false)); err != nil {
		return nil, fmt.Errorf("not a STIX object: %w", err)
	}
	if o.ID == "" || o.Type == "" {
		return nil, errors.New("not a STIX object: no id or type")
	}
	o.raw = raw
	switch {
	case !o.Modified.IsZero():
		o.key = Key(o.ID, o.Modified)
	case !o.Created.IsZero():
		o.key = Key(o.ID, o.Created)
	default:
		// An SCO is keyed by the hash of its canonical JSON.
		o.key = fmt.Sprintf("%s@sha256:%x", o.ID, sha256.Sum256(o.body()))
	}
	return &o, nil
}

// body is the object's canonical JSON (RFC 8785): a Setu peer sends the
// canonical bytes it stored, so they are taken as they are when already
// canonical.
func (o *peeked) body() []byte {
	if o.canonical == nil {
		v := jsontext.Value(bytes.Clone(o.raw))
		if v.Canonicalize() != nil {
			o.canonical = o.raw
		} else {
			o.canonical = v
		}
	}
	return o.canonical
}

// verifyBody checks provenance over the bytes received, and over their
// canonical form if they were not canonical.
func (e *Engine) verifyBody(pr *Provenance, o *peeked) error {
	err := e.verify.Verify(pr, o.raw)
	if errors.Is(err, ErrBadSignature) {
		if c := o.body(); !bytes.Equal(c, o.raw) {
			return e.verify.Verify(pr, c)
		}
	}
	return err
}

// wellKnownMarking returns the definition of a Setu distribution marking
// whose scope names no group or recipients, of residency in country (this
// node's: the only residency that may arrive here), or of distribution to
// one of groups, if id is one: such definitions are the same bytes on every
// node. Partners create a group they share with the same id on each side,
// so a marking for a group this node does not know stays unknown.
func wellKnownMarking(id, country string, groups []store.Group) []byte {
	var ds []policy.Distribution
	if country != "" {
		ds = append(ds, policy.Distribution{Resident: country})
	}
	for _, sc := range policy.Scopes {
		if sc != policy.ScopeGroup {
			ds = append(ds, policy.Distribution{Scope: sc})
		}
	}
	for _, g := range groups {
		ds = append(ds, policy.Distribution{Scope: policy.ScopeGroup, Group: g.ID})
	}
	for _, d := range ds {
		if d.MarkingID() == id {
			b, err := d.MarkingDefinition()
			if err != nil {
				return nil
			}
			return b
		}
	}
	return nil
}

// putArrivals keeps the provenance objects arrived with: the first
// arrival's as the version's record, and any later arrival beside it
// (route "<-" and the sender), so that egress knows every path a version
// came by and sends it back along none.
func (e *Engine) putArrivals(ctx context.Context, from string, recs []store.ProvenanceRecord) error {
	added, err := e.cfg.DB.PutProvenance(ctx, recs)
	if err != nil {
		return err
	}
	var later []store.ProvenanceRecord
	for i, r := range recs {
		if !added[i] {
			later = append(later, store.ProvenanceRecord{Version: r.Version, Route: "<-" + from, Record: r.Record, Shared: r.Shared})
		}
	}
	_, err = e.cfg.DB.PutProvenance(ctx, later)
	return err
}

// checkedPage is a page pulled from a peer and checked.
type checkedPage struct {
	pg taxii.Page
	in *inbound
}

// fetchError is a failure to fetch a page, rather than to check it.
type fetchError struct{ err error }

func (f fetchError) Error() string { return f.err.Error() }

// prefetch runs an iterator one item ahead in its own goroutine, so the
// next page is fetched (or checked) while this one is handled.
func prefetch[T any](ctx context.Context, pages iter.Seq2[T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type item struct {
			pg  T
			err error
		}
		ch := make(chan item, 1)
		go func() {
			defer close(ch)
			for pg, err := range pages {
				select {
				case ch <- item{pg, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		for it := range ch {
			if !yield(it.pg, it.err) {
				return
			}
		}
	}
}
