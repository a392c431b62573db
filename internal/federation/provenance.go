package federation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/setu-cti/setu/internal/store"
)

// Provenance says which node first released an object version, the path
// it travelled since, and carries each node's signature. It travels beside
// the STIX object, never inside it: in a TAXII envelope to a Setu peer, as
// the member EnvelopeProperty, a map from Key to provenance, so plain STIX
// consumers receive valid, unchanged objects and ignore the member.
//
// Signing. The origin signs once per batch it releases: it hashes each
// object's canonical JSON (RFC 8785), builds a Merkle tree over the batch,
// and signs the root; each object carries the root, its position and its
// inclusion proof. Verifying a batch then costs one Ed25519 verification
// per signed root (cached by Verifier) and a few hashes per object, instead
// of an Ed25519 verification per object. Every node that forwards the
// object appends a step, signed the same way over a batch of its own. A
// hop's leaf covers the object and the previous step's signature, so steps
// can be neither moved to another object nor reordered, and a hop names the
// node it sent the object to, which must be the next step's signer.
//
// Format 1 (the "v" member), in JSON:
//
//	{"v": 2,
//	 "meta":   {"tlp": "green", "sectors": [...]}, (format 2; see Meta)
//	 "origin": {"node": "IN-CERT", "at": RFC 3339 time, "root": base64 SHA-256,
//	            "index": n, "size": n, "proof": [base64 SHA-256, ...], "sig": base64 Ed25519},
//	 "path":   [{"node": "JP-CERT", "to": "KR-CERT", "at": ..., "root": ..., "index": ...,
//	            "size": ..., "proof": [...], "sig": ...}, ...]}
//
// Signed message of a step: the context "setu provenance v1", the step's
// kind ("origin" or "hop"), node, to (empty for the origin) and time
// (UTC, nanoseconds), each ended by a zero byte, then the batch size as 8
// bytes big-endian and the 32-byte root. Leaves: SHA-256(0x00 || object
// digest) for the origin; SHA-256(0x00 || object digest || SHA-256 of the
// previous step's signature) for a hop, where the object digest is the
// SHA-256 of the object's canonical JSON (format 1) or the SHA-256 of that
// followed by the SHA-256 of the Meta's canonical JSON (format 2). Interior
// nodes: SHA-256(0x01 || left || right), split as RFC 9162 splits.
type Provenance struct {
	Format int `json:"v"`
	// Meta is what the origin fixed beside the object (format 2): its
	// handling and the submitter's sectors, covered by every signature.
	Meta   *Meta  `json:"meta,omitzero"`
	Origin Step   `json:"origin"`
	Path   []Step `json:"path,omitzero"`
}

// ProvenanceFormat is the format version this package writes. Format 2
// adds Meta; the object's digest in every leaf is then SHA-256 of the
// SHA-256 of its canonical JSON followed by the Meta's digest. Format 1
// records (no Meta; the digest is that of the object's JSON) are still
// read and forwarded as they are.
const ProvenanceFormat = 2

// objectDigest is what a leaf of p's steps binds of the object whose
// canonical JSON is body (see ProvenanceFormat).
func (p *Provenance) objectDigest(body []byte) [32]byte {
	d := sha256.Sum256(body)
	if p.Format < 2 || p.Meta == nil {
		return d
	}
	md := p.Meta.digest()
	var buf [64]byte
	copy(buf[:32], d[:])
	copy(buf[32:], md[:])
	return sha256.Sum256(buf[:])
}

// EnvelopeProperty is the TAXII envelope member that carries provenance.
const EnvelopeProperty = "x_setu_provenance"

// Limits a decoder enforces, so a hostile record costs bounded work.
const (
	MaxPath  = 16      // hops after the origin
	MaxBatch = 1 << 20 // objects under one signed root
)

// Step is one signed step: the origin's release or a hop.
type Step struct {
	Node  string    `json:"node"`
	To    string    `json:"to,omitzero"` // the receiving node; hops only
	At    time.Time `json:"at"`
	Root  Digest    `json:"root"`
	Index int64     `json:"index"`
	Size  int64     `json:"size"`
	Proof []Digest  `json:"proof,omitzero"`
	Sig   Signature `json:"sig"`
}

// Digest is a SHA-256 digest, base64 in JSON.
type Digest [32]byte

// Signature is an Ed25519 signature, base64 in JSON.
type Signature [64]byte

func (d Digest) MarshalText() ([]byte, error)     { return encodeB64(d[:]), nil }
func (d *Digest) UnmarshalText(b []byte) error    { return decodeB64(d[:], b) }
func (s Signature) MarshalText() ([]byte, error)  { return encodeB64(s[:]), nil }
func (s *Signature) UnmarshalText(b []byte) error { return decodeB64(s[:], b) }

func encodeB64(b []byte) []byte { return base64.StdEncoding.AppendEncode(nil, b) }

func decodeB64(dst, text []byte) error {
	// Decode wants room for what the text could hold without padding, which
	// is more than dst when the text is malformed. Digests and signatures
	// fit the stack buffer, so the thousands a page carries allocate
	// nothing; longer text cannot be either.
	var buf [66]byte
	if base64.StdEncoding.DecodedLen(len(text)) > len(buf) {
		return fmt.Errorf("want %d bytes in base64", len(dst))
	}
	n, err := base64.StdEncoding.Decode(buf[:], text)
	if err != nil || n != len(dst) {
		return fmt.Errorf("want %d bytes in base64", len(dst))
	}
	copy(dst, buf[:n])
	return nil
}

// Errors of provenance. Verify wraps them with the step at fault.
var (
	// ErrMalformed: the record cannot be read or breaks the format's rules.
	ErrMalformed = errors.New("malformed provenance")
	// ErrUnknownOrigin: no key is known for the node that released the object.
	ErrUnknownOrigin = errors.New("unknown origin node")
	// ErrUnknownNode: a KeyResolver knows no key for a node. Resolvers
	// return it (wrapped or not); Verify reports ErrUnknownOrigin for the
	// origin and ErrUnknownNode for a hop.
	ErrUnknownNode = errors.New("unknown node")
	// ErrLoop: the path passes through a node twice, or through the node
	// verifying or forwarding it.
	ErrLoop = errors.New("provenance path loops")
	// ErrMisdirected: the last hop sent the object to another node.
	ErrMisdirected = errors.New("provenance addressed to another node")
)

// Key is the envelope key of an object version: its id and version time
// (modified, or created for marking definitions), the time written in UTC
// with as many fractional digits as it needs.
func Key(id string, version time.Time) string {
	return id + "@" + version.UTC().Format(time.RFC3339Nano)
}

// KeyOf is the envelope key of a stored version. An SCO, which has no
// version time of its own, is keyed by the SHA-256 of its canonical JSON.
func KeyOf(v *store.Version) string {
	switch {
	case !v.Modified.IsZero():
		return Key(v.ID, v.Modified)
	case !v.Created.IsZero():
		return Key(v.ID, v.Created)
	}
	return fmt.Sprintf("%s@sha256:%x", v.ID, v.Hash)
}

const provenanceContext = "setu provenance v1\x00"

// message is what a step's signer signs.
func (s *Step) message(kind string) []byte {
	b := make([]byte, 0, 128)
	b = append(b, provenanceContext...)
	b = append(b, kind...)
	b = append(b, 0)
	b = append(b, s.Node...)
	b = append(b, 0)
	b = append(b, s.To...)
	b = append(b, 0)
	b = s.At.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Size))
	return append(b, s.Root[:]...)
}

func leafHash(digest [32]byte, link *[32]byte) Digest {
	var buf [1 + 64]byte
	buf[0] = leafPrefix
	copy(buf[1:], digest[:])
	if link == nil {
		return sha256.Sum256(buf[:33])
	}
	copy(buf[33:], link[:])
	return sha256.Sum256(buf[:])
}

// link is what a hop's leaf binds of the step before it.
func (s *Step) link() [32]byte { return sha256.Sum256(s.Sig[:]) }

// signBatch builds the tree over leaves, signs its root as s and returns
// one step per leaf.
func signBatch(s Signer, kind, to string, at time.Time, leaves []Digest) []Step {
	root, proofs := merkleTree(leaves)
	tmpl := Step{Node: s.Name, To: to, At: at.UTC(), Root: root, Size: int64(len(leaves))}
	copy(tmpl.Sig[:], ed25519.Sign(s.Key, tmpl.message(kind)))
	steps := make([]Step, len(leaves))
	for i := range steps {
		steps[i] = tmpl
		steps[i].Index = int64(i)
		steps[i].Proof = proofs[i]
	}
	return steps
}

func checkBatch(s Signer, n int) error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if len(s.Key) != ed25519.PrivateKeySize {
		return errors.New("provenance: no signing key")
	}
	if n == 0 || n > MaxBatch {
		return fmt.Errorf("provenance: a batch holds 1 to %d objects, not %d", MaxBatch, n)
	}
	return nil
}

// Sign releases a batch as its origin in format 1, without Meta: bodies
// are the objects' canonical JSON, and the result holds one provenance per
// body, in order, under one signature. SignMeta is what a node releases
// with.
func Sign(origin Signer, at time.Time, bodies [][]byte) ([]Provenance, error) {
	return SignMeta(origin, at, bodies, nil)
}

// SignMeta is Sign with, index for index, the Meta of each object
// (format 2). With metas nil it signs format 1.
func SignMeta(origin Signer, at time.Time, bodies [][]byte, metas []*Meta) ([]Provenance, error) {
	if err := checkBatch(origin, len(bodies)); err != nil {
		return nil, err
	}
	if metas != nil && len(metas) != len(bodies) {
		return nil, fmt.Errorf("provenance: %d metas for %d objects", len(metas), len(bodies))
	}
	ps := make([]Provenance, len(bodies))
	leaves := make([]Digest, len(bodies))
	normal := map[*Meta]*Meta{} // each Meta given, normalised once
	for i, b := range bodies {
		ps[i].Format = 1
		if metas != nil {
			m := metas[i]
			if m == nil {
				return nil, fmt.Errorf("provenance: object %d has no meta", i)
			}
			n, ok := normal[m]
			if !ok {
				if err := m.validate(); err != nil {
					return nil, err
				}
				c := *m
				c.normalise()
				n, normal[m] = &c, &c
			}
			ps[i].Format, ps[i].Meta = ProvenanceFormat, n
		}
		leaves[i] = leafHash(ps[i].objectDigest(b), nil)
	}
	steps := signBatch(origin, "origin", "", at, leaves)
	for i := range ps {
		ps[i].Origin = steps[i]
	}
	return ps, nil
}

// Forward is one object a node forwards: its canonical JSON and the
// provenance it arrived with.
type Forward struct {
	Body       []byte
	Provenance Provenance
}

// AddHop appends to each object's provenance a step by s sending it to
// node to, all under one signature, and returns the new provenance in
// order; the inputs are not changed. ErrLoop if s or to is already on an
// object's path: the object would come back to a node that had it.
func AddHop(s Signer, to string, at time.Time, batch []Forward) ([]Provenance, error) {
	if err := checkBatch(s, len(batch)); err != nil {
		return nil, err
	}
	if err := ValidateName(to); err != nil {
		return nil, err
	}
	if to == s.Name {
		return nil, fmt.Errorf("provenance: %s cannot forward to itself: %w", to, ErrLoop)
	}
	leaves := make([]Digest, len(batch))
	for i, f := range batch {
		p := &f.Provenance
		if len(p.Path) >= MaxPath {
			return nil, fmt.Errorf("provenance: object %d already has %d hops, the most a path may hold: %w", i, len(p.Path), ErrMalformed)
		}
		for _, n := range p.nodes() {
			if n == s.Name || n == to {
				return nil, fmt.Errorf("provenance: object %d has already passed through %s: %w", i, n, ErrLoop)
			}
		}
		link := p.last().link()
		leaves[i] = leafHash(p.objectDigest(f.Body), &link)
	}
	steps := signBatch(s, "hop", to, at, leaves)
	out := make([]Provenance, len(batch))
	for i, f := range batch {
		out[i] = Provenance{Format: f.Provenance.Format, Origin: f.Provenance.Origin,
			Path: append(slices.Clone(f.Provenance.Path), steps[i]), Meta: f.Provenance.Meta}
	}
	return out, nil
}

// nodes lists the signers along the path, origin first.
func (p *Provenance) nodes() []string {
	ns := make([]string, 0, 1+len(p.Path))
	ns = append(ns, p.Origin.Node)
	for i := range p.Path {
		ns = append(ns, p.Path[i].Node)
	}
	return ns
}

// signer is the node that signed step i: -1 for the origin, else the
// index of a hop in Path.
func (p *Provenance) signer(i int) string {
	if i < 0 {
		return p.Origin.Node
	}
	return p.Path[i].Node
}

// Sender is the node that signed the last step: the origin, or the last
// hop. A receiver checks it is the peer the object came from.
func (p *Provenance) Sender() string { return p.last().Node }

func (p *Provenance) last() *Step {
	if len(p.Path) > 0 {
		return &p.Path[len(p.Path)-1]
	}
	return &p.Origin
}

// KeyResolver returns the Ed25519 public key of a node, or an error
// wrapping ErrUnknownNode when it knows none.
type KeyResolver func(node string) (ed25519.PublicKey, error)

// Verifier checks provenance as the node named self. It remembers the
// signatures it has verified, so the objects of one batch cost one Ed25519
// verification between them. It is safe for concurrent use.
type Verifier struct {
	self    string
	resolve KeyResolver

	mu   sync.Mutex
	seen map[verified]struct{}
}

// verified is one signature that verified: the key, every field of the
// signed message and the signature, so nothing else can pass for it. The
// fields stand in for the message itself, which a lookup need not build.
type verified struct {
	key            [ed25519.PublicKeySize]byte
	sig            Signature
	kind, node, to string
	sec            int64
	nsec           int
	size           int64
	root           Digest
}

// verifiedCap bounds the remembered signatures; past it the memory starts
// afresh, which costs a verification per batch again, never a wrong answer.
const verifiedCap = 1 << 14

// NewVerifier returns a verifier for the node named self (empty: no loop
// or addressing check against the verifier itself).
func NewVerifier(self string, resolve KeyResolver) *Verifier {
	return &Verifier{self: self, resolve: resolve, seen: map[verified]struct{}{}}
}

// Verify checks p for the object whose canonical JSON is body:
//
//   - the format is known and the record well formed (ErrMalformed);
//   - no node appears twice on the path and the verifier is not on it
//     (ErrLoop), each hop's signer is the node the step before sent it to,
//     and the last hop was addressed to the verifier (ErrMisdirected);
//   - every signer's key is known (ErrUnknownOrigin, ErrUnknownNode);
//   - the object is in the origin's signed batch and each hop signed this
//     object after the step before it (ErrBadSignature).
//
// A changed object, a reordered path, a forged step or a wrong key all
// end in ErrBadSignature.
func (v *Verifier) Verify(p *Provenance, body []byte) error {
	if err := p.validate(); err != nil {
		return err
	}
	for i := -1; i < len(p.Path); i++ {
		n := p.signer(i)
		if n == v.self {
			return fmt.Errorf("provenance: step %d: %s is this node, so the object has been here before: %w", i+1, n, ErrLoop)
		}
		for j := -1; j < i; j++ {
			if p.signer(j) == n {
				return fmt.Errorf("provenance: step %d: %s appears twice on the path: %w", i+1, n, ErrLoop)
			}
		}
	}
	for i := range p.Path {
		if i > 0 && p.Path[i].Node != p.Path[i-1].To {
			return fmt.Errorf("provenance: step %d: signed by %s but the step before sent the object to %s: %w",
				i+1, p.Path[i].Node, p.Path[i-1].To, ErrBadSignature)
		}
	}
	if n := len(p.Path); n > 0 && v.self != "" && p.Path[n-1].To != v.self {
		return fmt.Errorf("provenance: the last hop sent the object to %s, not %s: %w", p.Path[n-1].To, v.self, ErrMisdirected)
	}
	digest := p.objectDigest(body)
	if err := v.verifyStep(&p.Origin, "origin", leafHash(digest, nil)); err != nil {
		return fmt.Errorf("provenance: origin %s: %w", p.Origin.Node, err)
	}
	prev := &p.Origin
	for i := range p.Path {
		s := &p.Path[i]
		link := prev.link()
		if err := v.verifyStep(s, "hop", leafHash(digest, &link)); err != nil {
			return fmt.Errorf("provenance: step %d (%s to %s): %w", i+1, s.Node, s.To, err)
		}
		prev = s
	}
	return nil
}

func (v *Verifier) verifyStep(s *Step, kind string, leaf Digest) error {
	root, err := rootFromProof(leaf, s.Index, s.Size, s.Proof)
	if err != nil || root != s.Root {
		return fmt.Errorf("the object is not in the signed batch: %w", ErrBadSignature)
	}
	key, err := v.resolve(s.Node)
	if err != nil {
		if errors.Is(err, ErrUnknownNode) && kind == "origin" {
			return fmt.Errorf("%v: %w", err, ErrUnknownOrigin)
		}
		return err
	}
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("key of %s has %d bytes: %w", s.Node, len(key), ErrUnknownNode)
	}
	id := verified{sig: s.Sig, kind: kind, node: s.Node, to: s.To, sec: s.At.Unix(), nsec: s.At.Nanosecond(), size: s.Size, root: s.Root}
	copy(id.key[:], key)
	v.mu.Lock()
	_, ok := v.seen[id]
	v.mu.Unlock()
	if ok {
		return nil
	}
	if !ed25519.Verify(key, s.message(kind), s.Sig[:]) {
		return ErrBadSignature
	}
	v.mu.Lock()
	if len(v.seen) >= verifiedCap {
		clear(v.seen)
	}
	v.seen[id] = struct{}{}
	v.mu.Unlock()
	return nil
}

// validate checks the rules of the format that need no key.
func (p *Provenance) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("provenance: "+format+": %w", append(a, ErrMalformed)...)
	}
	switch {
	case p.Format < 1 || p.Format > ProvenanceFormat:
		return bad("format %d, this node reads 1 to %d", p.Format, ProvenanceFormat)
	case p.Format == 1 && p.Meta != nil:
		return bad("format 1 carries no meta")
	case p.Format >= 2 && p.Meta == nil:
		return bad("format %d needs meta", p.Format)
	case p.Meta != nil:
		if err := p.Meta.validate(); err != nil {
			return err
		}
	}
	if len(p.Path) > MaxPath {
		return bad("%d hops, at most %d", len(p.Path), MaxPath)
	}
	check := func(i int, s *Step) error {
		// The label is built only for an error: validation runs on every
		// object received.
		hop := i >= 0
		what := func() string {
			if hop {
				return fmt.Sprintf("step %d", i+1)
			}
			return "origin"
		}
		switch {
		case ValidateName(s.Node) != nil:
			return bad("%s: node name %q", what(), s.Node)
		case hop && ValidateName(s.To) != nil:
			return bad("%s: a hop names the node it sent the object to", what())
		case !hop && s.To != "":
			return bad("%s: the origin's release names no recipient", what())
		case s.At.IsZero():
			return bad("%s: no time", what())
		case s.Size < 1 || s.Size > MaxBatch:
			return bad("%s: batch size %d outside 1 to %d", what(), s.Size, MaxBatch)
		case s.Index < 0 || s.Index >= s.Size:
			return bad("%s: index %d outside a batch of %d", what(), s.Index, s.Size)
		case len(s.Proof) != proofLen(s.Index, s.Size):
			return bad("%s: proof of %d hashes, a batch of %d needs %d at index %d", what(), len(s.Proof), s.Size, proofLen(s.Index, s.Size), s.Index)
		}
		return nil
	}
	if err := check(-1, &p.Origin); err != nil {
		return err
	}
	for i := range p.Path {
		if err := check(i, &p.Path[i]); err != nil {
			return err
		}
	}
	return nil
}

// DecodeProvenance reads one provenance record strictly (unknown and
// duplicate names, wrong types and lengths are errors) and checks the
// format's rules; every error wraps ErrMalformed.
func DecodeProvenance(data []byte) (*Provenance, error) {
	var p Provenance
	if err := json.Unmarshal(data, &p, json.RejectUnknownMembers(true)); err != nil {
		path, msg := jsonFault(err)
		return nil, fmt.Errorf("provenance: %s: %s: %w", path, msg, ErrMalformed)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodeEnvelope reads the EnvelopeProperty member of an envelope: a map
// from Key to provenance, each checked as DecodeProvenance checks it.
func DecodeEnvelope(data []byte) (map[string]*Provenance, error) {
	var m map[string]*Provenance
	if err := json.Unmarshal(data, &m, json.RejectUnknownMembers(true)); err != nil {
		path, msg := jsonFault(err)
		return nil, fmt.Errorf("provenance: %s: %s: %w", path, msg, ErrMalformed)
	}
	for k, p := range m {
		if p == nil {
			return nil, fmt.Errorf("provenance: %s: null: %w", k, ErrMalformed)
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return m, nil
}

// Encode writes p as JSON.
func (p *Provenance) Encode() ([]byte, error) { return json.Marshal(p) }
