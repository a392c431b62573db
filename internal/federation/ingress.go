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
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
		pc = &peerClient{key: key, cl: cl, root: p.URL}
		u, err := url.Parse(p.URL)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/taxii2") {
			// A discovery URL: sync with its default API root.
			d, err := cl.Discovery(ctx)
			if err != nil {
				return nil, err
			}
			if d.Default == "" {
				return nil, fmt.Errorf("%s names no default API root", p.URL)
			}
			pc.root = d.Default
		}
	}
	cols, err := pc.cl.Collections(ctx, pc.root)
	if err != nil {
		return nil, err
	}
	next := &peerClient{key: pc.key, cl: pc.cl, root: pc.root, cols: cols.Collections, listed: e.cfg.Now()}
	e.mu.Lock()
	e.clients[p.Name] = next
	e.mu.Unlock()
	return next, nil
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
func (e *Engine) pull(ctx context.Context, p store.Peer, a *Agreement) error {
	inbound, err := e.cfg.DB.Collection(ctx, a.Inbound)
	if err != nil {
		return err
	}
	pc, err := e.client(ctx, p, readable)
	if err != nil {
		return err
	}
	cl, root := pc.cl, pc.root
	for _, c := range pc.cols {
		if !c.CanRead {
			continue
		}
		cur, err := e.cursor(ctx, p.Name, store.SyncIn, c.ID)
		if err != nil {
			return err
		}
		f := taxii.Filter{AddedAfter: cur.Added, Limit: e.cfg.PageSize, Versions: taxii.VersionMatch{All: true}}
		for pg, err := range prefetch(ctx, cl.AllObjects(ctx, root, c.ID, f)) {
			if err != nil {
				e.forget(p.Name)
				return e.fail(ctx, cur, err)
			}
			var prov jsontext.Value
			if pg.Envelope.Extra != nil {
				prov = pg.Envelope.Extra[EnvelopeProperty]
			}
			errs, err := e.receive(ctx, p, a, inbound.ID, pg.Envelope.Objects, prov)
			if err != nil {
				return e.fail(ctx, cur, err)
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
			if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
				return err
			}
		}
		cur.LastSuccess, cur.LastError = e.cfg.Now().UTC(), ""
		if err := e.cfg.DB.SetSyncCursor(ctx, cur); err != nil {
			return err
		}
	}
	return nil
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
	prov   []byte
}

// receive decides objects received from peer p (pulled, or pushed to
// collection coll): provenance verified, sender and agreement checked,
// then the one write path as the origin node, so the store refuses a
// version of an object another node owns. It returns one error per object
// (nil: accepted, including a version already stored) and records
// refusals in the counters and the audit log.
func (e *Engine) receive(ctx context.Context, p store.Peer, a *Agreement, coll string, objects []jsontext.Value, provRaw jsontext.Value) ([]error, error) {
	errs := make([]error, len(objects))
	refused := map[string][]string{}
	counts := map[string]int64{}
	refuse := func(i int, key, rule string, err error) {
		errs[i] = &Refusal{Rule: rule, Err: err}
		if key == "" {
			key = fmt.Sprintf("object[%d]", i)
		}
		refused[rule] = append(refused[rule], key)
		counts["refused:"+rule]++
	}
	var provs map[string]*Provenance
	var provErr error
	if len(provRaw) > 0 {
		provs, provErr = DecodeEnvelope(provRaw)
	}
	// A Setu partner (one whose signing key is known) must prove the
	// origin of everything it sends; a plain TAXII server cannot, and its
	// objects are taken as its own.
	setu := len(p.SigningKey) > 0 || len(provRaw) > 0
	local := map[string][]byte{}
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
			if b := wellKnownMarking(id); b != nil {
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
			refuse(i, "", "invalid", err)
			continue
		}
		key := o.key
		origin := p.Name
		var rec []byte
		if setu {
			if provErr != nil {
				refuse(i, key, provenanceRule(provErr), provErr)
				continue
			}
			pr := provs[key]
			if pr == nil {
				refuse(i, key, "provenance-missing", errors.New("no provenance for this version"))
				continue
			}
			if err := e.verifyBody(pr, o); err != nil {
				refuse(i, key, provenanceRule(err), err)
				continue
			}
			if s := pr.Sender(); s != p.Name {
				refuse(i, key, "provenance-sender", fmt.Errorf("last signed by %s, but %s sent it", s, p.Name))
				continue
			}
			origin = pr.Origin.Node
			if rec, err = pr.Encode(); err != nil {
				return nil, err
			}
		}
		facts, err := policy.Classify(o.ObjectMarkingRefs, resolve)
		if err != nil {
			return nil, err
		}
		if o.Type == "marking-definition" {
			local[o.ID] = o.body()
		}
		if o.Type == "marking-definition" && isDistributionMarking(o.ID, o.body()) {
			// The vocabulary of distribution, not content: an object that
			// names one is checked against the agreement itself.
		} else if d := a.Releases(e.cfg.Policy, Object{Type: o.Type, Facts: facts, Residency: facts.Resident}); !d.Allow {
			refuse(i, key, "inbound:"+d.Rule, errors.New(d.Reason))
			continue
		}
		items = append(items, inItem{idx: i, raw: raw, key: key, origin: origin, prov: rec})
	}
	if len(missing) > 0 {
		res, err := e.ingest.ObjectsAs(ctx, ingest.Operator, coll, missing)
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
		recs     []store.ProvenanceRecord
		accepted []string
	)
	// Runs of one origin keep the order objects came in, so a marking
	// definition is stored before the objects that refer to it.
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && items[end].origin == items[start].origin {
			end++
		}
		run := items[start:end]
		raws := make([][]byte, len(run))
		for j := range run {
			raws[j] = run[j].raw
		}
		w := ingest.Writer{Org: NodeSubmitter(run[0].origin), Relay: true, Via: p.Name}
		res, err := e.ingest.ObjectsAs(ctx, w, coll, raws)
		if err != nil {
			return nil, err
		}
		for j, it := range res {
			in := run[j]
			switch it.Outcome {
			case ingest.Added, ingest.Duplicate:
				accepted = append(accepted, in.key)
				if in.prov != nil {
					recs = append(recs, store.ProvenanceRecord{Key: in.key, Record: in.prov})
				}
				if it.Outcome == ingest.Added {
					counts["in"]++
				} else {
					counts["duplicate"]++
				}
			default:
				refuse(in.idx, in.key, storeRule(it.Err), it.Err)
			}
		}
		start = end
	}
	if err := e.putArrivals(ctx, p.Name, recs); err != nil {
		return nil, err
	}
	if err := e.audit(ctx, p.Name, "receive", "federation:ingress", coll, "agreement", accepted); err != nil {
		return nil, err
	}
	for _, rule := range sortedKeys(refused) {
		if err := e.audit(ctx, p.Name, "refuse", "federation:ingress", coll, rule, refused[rule]); err != nil {
			return nil, err
		}
		e.log.Warn("sync: objects refused", "peer", p.Name, "rule", rule, "count", len(refused[rule]))
	}
	return errs, e.cfg.DB.AddSyncCounts(ctx, p.Name, counts)
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
	pc, err := e.client(ctx, p, writable)
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
		pg, err := gate.Query(ctx, policy.Reader{Peer: p.Name}, store.Query{Collection: view, After: cur.Seq,
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
		if err := e.audit(ctx, p.Name, "release", "federation:push", view, "agreement", keysOf(pg.Versions)); err != nil {
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

func keysOf(vs []store.Version) []string {
	out := make([]string, len(vs))
	for i := range vs {
		out[i] = KeyOf(&vs[i])
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
	keys := keysOf(vs)
	recs, err := e.cfg.DB.Provenance(ctx, keys, []string{"", peer})
	if err != nil {
		return nil, err
	}
	chosen := make(map[string][]byte, len(recs))
	for _, r := range recs {
		if _, ok := chosen[r.Key]; !ok || r.Route == peer {
			chosen[r.Key] = r.Record
		}
	}
	var b bytes.Buffer
	enc := jsontext.NewEncoder(&b)
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return nil, err
	}
	for _, k := range keys {
		rec, ok := chosen[k]
		if !ok {
			continue
		}
		if err := enc.WriteToken(jsontext.String(k)); err != nil {
			return nil, err
		}
		if err := enc.WriteValue(jsontext.Value(rec)); err != nil {
			return nil, err
		}
		delete(chosen, k) // an object listed twice is one member
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, err
	}
	// Counted in memory and stored by the peer's loop: a write here would
	// wait for the store's one writer on every page served.
	e.count(peer, "out", int64(len(vs)))
	return jsontext.Value(bytes.TrimSpace(b.Bytes())), nil
}

// PeerByCert names the peer pinned to a certificate fingerprint.
func (e *Engine) PeerByCert(ctx context.Context, fp [32]byte) (string, error) {
	ps, err := e.cfg.DB.ListPeers(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.CertSHA256 == fp {
			return p.Name, nil
		}
	}
	return "", store.ErrNotFound
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
// whose scope names no group or recipients, if id is one: such
// definitions are the same bytes on every node.
func wellKnownMarking(id string) []byte {
	for _, sc := range policy.Scopes {
		if sc == policy.ScopeGroup {
			continue
		}
		d := policy.Distribution{Scope: sc}
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
			later = append(later, store.ProvenanceRecord{Key: r.Key, Route: "<-" + from, Record: r.Record})
		}
	}
	_, err = e.cfg.DB.PutProvenance(ctx, later)
	return err
}

// prefetch runs a page iterator one page ahead in its own goroutine, so
// the next page crosses the network while this one is stored.
func prefetch(ctx context.Context, pages iter.Seq2[taxii.Page, error]) iter.Seq2[taxii.Page, error] {
	return func(yield func(taxii.Page, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type item struct {
			pg  taxii.Page
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
