package taxiiserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// Peers is what the server needs from the federation sync engine to serve
// partner nodes. A partner authenticates by the certificate it presents in
// mutual TLS, pinned by its SHA-256, and by a Bearer token as well when its
// record holds one's hash; it then reads as itself (the policy gate
// decides as that peer), sees the collections the engine opens to it, and
// what it is served carries provenance.
type Peers interface {
	// PeerByCert finds the peer whose pinned certificate has this
	// SHA-256; store.ErrNotFound if none.
	PeerByCert(ctx context.Context, fingerprint [32]byte) (store.Peer, error)
	// PeerAccess is what the peer may do with a collection.
	PeerAccess(ctx context.Context, peer, collection string) (read, write bool, err error)
	// PeerProvenance is the envelope member carrying the provenance of
	// versions served to the peer (nil: none).
	PeerProvenance(ctx context.Context, peer string, vs []store.Version) (jsontext.Value, error)
	// Receive decides objects the peer pushed into a collection, with the
	// provenance member of their envelope; one error per object, nil for
	// an object accepted (stored, or already stored).
	Receive(ctx context.Context, peer, collection string, objects []jsontext.Value, provenance jsontext.Value) ([]error, error)
}

// SetPeers lets partner nodes in by their certificates; call before
// serving. The TLS listener must request client certificates.
func (s *Server) SetPeers(p Peers) { s.peers = p }

// peerPrefix marks the principal of a partner node: it is no user or
// organisation of this node, and names cannot contain ':'.
const peerPrefix = "peer:"

// peerOf reports whether p is a partner node and which.
func peerOf(p store.Principal) (string, bool) {
	name, ok := strings.CutPrefix(p.User.Name, peerPrefix)
	return name, ok && p.Token.ID == peerPrefix+name
}

// peerPrincipal authenticates r by its client certificate. ok is false
// when r presents none, or one no peer pins: the request is then
// authenticated as a user's, so users behind a TLS-inspecting proxy with
// a certificate of their own keep working.
//
// A peer whose operator requires a token must also send it as a Bearer
// token, else the request is refused (errUnauthorized) rather than tried
// as a user's: a certificate that names a peer speaks for that peer only.
func (s *Server) peerPrincipal(r *http.Request) (p store.Principal, ok bool, err error) {
	if s.peers == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return p, false, nil
	}
	fp := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	peer, err := s.peers.PeerByCert(r.Context(), fp)
	if errors.Is(err, store.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if err := authn.CheckPeerToken(r, peer.InboundTokenSHA256); err != nil {
		s.cfg.Log.Warn("peer certificate without the token this node requires of the peer, or with a wrong one", "peer", peer.Name)
		return p, false, errUnauthorized
	}
	id := peerPrefix + peer.Name
	return store.Principal{
		Token: account.Token{ID: id, User: id},
		User:  account.User{Name: id, Org: id, Role: account.ReadOnly},
		Org:   account.Org{ID: id, Name: peer.Name, Country: peer.Country},
	}, true, nil
}

// peerReader is the policy's reader for a partner node: its name, and its
// country as declared when it was added (for residency markings).
func peerReader(name, country string) policy.Reader {
	return policy.Reader{Peer: name, Country: country}
}

// peerEnvelope is an envelope served to a partner: the TAXII members and
// the provenance of its objects.
func (s *Server) peerEnvelope(ctx context.Context, p store.Principal, pg store.Page, env taxii.Envelope) (taxii.Envelope, error) {
	name, ok := peerOf(p)
	if !ok || s.peers == nil || len(pg.Versions) == 0 {
		return env, nil
	}
	prov, err := s.peers.PeerProvenance(ctx, name, pg.Versions)
	if err != nil || prov == nil {
		return env, err
	}
	env.Extra = map[string]jsontext.Value{"x_setu_provenance": prov}
	return env, nil
}

// decidePeer decides a job a partner node pushed: the sync engine checks
// provenance and the agreement and ingests as the objects' origin.
func (s *Server) decidePeer(ctx context.Context, name string, st store.Status, body []byte) error {
	env, err := taxii.DecodeEnvelope(body)
	if err != nil {
		return fmt.Errorf("job %s: stored envelope: %w", st.ID, err)
	}
	raws := make([]jsontext.Value, 0, len(st.Pendings))
	for _, o := range env.Objects {
		if _, ok := peek(o); ok {
			raws = append(raws, o)
		}
	}
	if len(raws) != len(st.Pendings) {
		return fmt.Errorf("job %s: %d objects for %d pendings", st.ID, len(raws), len(st.Pendings))
	}
	start := time.Now()
	errs, err := s.peers.Receive(ctx, name, st.Collection, raws, env.Extra["x_setu_provenance"])
	if err != nil {
		return fmt.Errorf("job %s: %w", st.ID, err)
	}
	var added, rej int
	for i, e := range errs {
		d := st.Pendings[i]
		if e == nil {
			added++
			st.Successes = append(st.Successes, d)
			continue
		}
		rej++
		d.Message = storable(e.Error(), 4096)
		st.Failures = append(st.Failures, d)
	}
	st.Pendings = nil
	// The sync engine recorded what it stored, in the same transactions.
	if err := s.cfg.DB.FinishStatus(ctx, st); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.Ingested(added, 0, rej, time.Since(start))
	}
	return nil
}
