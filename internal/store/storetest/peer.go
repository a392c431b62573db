package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/store"
)

// RunPeers runs the conformance tests for federation records: the node's
// identity, peers and agreements. The stores open returns must implement
// store.Peers.
func RunPeers(t *testing.T, open Opener) {
	peers := func(t *testing.T) store.Peers {
		s := open(t, store.Options{})
		p, ok := s.(store.Peers)
		if !ok {
			t.Fatalf("%T does not implement store.Peers", s)
		}
		return p
	}
	t.Run("NodeInfo", func(t *testing.T) { testNodeInfo(t, peers(t)) })
	t.Run("NodeInfoRace", func(t *testing.T) { testNodeInfoRace(t, peers(t)) })
	t.Run("Peers", func(t *testing.T) { testPeers(t, peers(t)) })
	t.Run("PeerInboundToken", func(t *testing.T) { testPeerInboundToken(t, peers(t)) })
	t.Run("Agreements", func(t *testing.T) { testAgreements(t, peers(t)) })
	t.Run("AgreementRace", func(t *testing.T) { testAgreementRace(t, peers(t)) })
	t.Run("Origins", func(t *testing.T) {
		p := peers(t)
		o, ok := p.(store.Origins)
		if !ok {
			t.Fatalf("%T does not implement store.Origins", p)
		}
		testOrigins(t, p, o)
	})
}

// testOrigins: origins are kept by name, apart from peers, and a peer of
// the same name supersedes one.
func testOrigins(t *testing.T, p store.Peers, s store.Origins) {
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	at := time.Date(2026, 5, 1, 9, 30, 0, 123456000, time.UTC)
	kr := store.Origin{Name: "KR-CERT", SigningKey: key(1), Country: "KR", Created: at}
	sg := store.Origin{Name: "SG-CERT", SigningKey: key(2), Created: at}
	for _, o := range []store.Origin{sg, kr} {
		if err := s.CreateOrigin(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateOrigin(ctx, kr); !errors.Is(err, store.ErrExists) {
		t.Errorf("origin created twice: %v, want ErrExists", err)
	}
	got, err := s.Origin(ctx, "KR-CERT")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kr, got); diff != "" {
		t.Errorf("Origin (-want +got):\n%s", diff)
	}
	if _, err := s.Origin(ctx, "XX-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent origin: %v, want ErrNotFound", err)
	}
	list, err := s.ListOrigins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Origin{kr, sg}, list); diff != "" {
		t.Errorf("ListOrigins (-want +got):\n%s", diff)
	}
	// A peer takes the name over; an origin cannot take a peer's.
	peer := store.Peer{Name: "KR-CERT", URL: "https://kr.example/taxii2/", CertSHA256: sha256.Sum256([]byte("kr")), SigningKey: key(1), Created: at}
	if err := p.CreatePeer(ctx, peer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Origin(ctx, "KR-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the origin stayed beside the peer that superseded it: %v", err)
	}
	if err := s.CreateOrigin(ctx, kr); !errors.Is(err, store.ErrExists) {
		t.Errorf("origin with a peer's name: %v, want ErrExists", err)
	}
	if err := s.DeleteOrigin(ctx, "SG-CERT"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrigin(ctx, "SG-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("origin removed twice: %v, want ErrNotFound", err)
	}
	if list, err := s.ListOrigins(ctx); err != nil || len(list) != 0 {
		t.Errorf("origins left: %v, %v", list, err)
	}
}

func testNodeInfo(t *testing.T, s store.Peers) {
	if _, err := s.NodeInfo(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("NodeInfo before it is set: %v, want ErrNotFound", err)
	}
	first, err := s.SetNodeInfo(ctx, store.NodeInfo{Name: "IN-CERT", Country: "IN"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "IN-CERT" || first.Country != "IN" || first.Created.IsZero() || !first.Updated.Equal(first.Created) {
		t.Errorf("first SetNodeInfo = %+v", first)
	}
	if got, err := s.NodeInfo(ctx); err != nil || !cmp.Equal(got, first) {
		t.Errorf("NodeInfo = %+v, %v; want %+v", got, err, first)
	}
	if again, err := s.SetNodeInfo(ctx, store.NodeInfo{Name: "IN-CERT", Country: "IN"}); err != nil || !cmp.Equal(again, first) {
		t.Errorf("setting the same identity again = %+v, %v; want it unchanged", again, err)
	}
	renamed, err := s.SetNodeInfo(ctx, store.NodeInfo{Name: "CERT-IN", Country: "IN"})
	if err != nil || renamed.Name != "CERT-IN" || !renamed.Created.Equal(first.Created) {
		t.Errorf("rename = %+v, %v", renamed, err)
	}
	if _, err := s.SetNodeInfo(ctx, store.NodeInfo{Name: "CERT-IN", Country: "JP"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("changing the country: %v, want ErrConflict", err)
	}
	if got, err := s.NodeInfo(ctx); err != nil || got.Country != "IN" || got.Name != "CERT-IN" {
		t.Errorf("after the refused change: %+v, %v", got, err)
	}
}

// testNodeInfoRace sets the identity from several goroutines at once with
// two countries: one country wins, every call agreeing with it succeeds and
// every other is refused.
func testNodeInfoRace(t *testing.T, s store.Peers) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		country := []string{"IN", "JP"}[i%2]
		wg.Go(func() { _, errs[i] = s.SetNodeInfo(ctx, store.NodeInfo{Name: "node", Country: country}) })
	}
	wg.Wait()
	got, err := s.NodeInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		country := []string{"IN", "JP"}[i%2]
		switch {
		case country == got.Country && err != nil:
			t.Errorf("call %d (%s) agreeing with the stored country failed: %v", i, country, err)
		case country != got.Country && !errors.Is(err, store.ErrConflict):
			t.Errorf("call %d (%s) against stored %s: %v, want ErrConflict", i, country, got.Country, err)
		}
	}
}

func fingerprint(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func testPeers(t *testing.T, s store.Peers) {
	jp := store.Peer{Name: "JP-CERT", URL: "https://jp.example/taxii2/", CertSHA256: fingerprint("jp"),
		SigningKey: make([]byte, 32), Token: "s3cret", Country: "JP", Created: t0}
	jp.SigningKey[0] = 7
	inbound := sha256.Sum256([]byte("jp-inbound"))
	jp.InboundTokenSHA256 = inbound[:]
	kr := store.Peer{Name: "KR-CERT", URL: "https://kr.example/taxii2/", CertSHA256: fingerprint("kr"), Created: t0.Add(time.Second)}
	for _, p := range []store.Peer{kr, jp} {
		if err := s.CreatePeer(ctx, p); err != nil {
			t.Fatalf("CreatePeer(%s): %v", p.Name, err)
		}
	}
	for _, tt := range []struct {
		name string
		p    store.Peer
	}{
		{"same name", store.Peer{Name: "JP-CERT", URL: "https://other.example/", CertSHA256: fingerprint("other"), Created: t0}},
		{"same certificate", store.Peer{Name: "XX", URL: "https://xx.example/", CertSHA256: fingerprint("jp"), Created: t0}},
	} {
		if err := s.CreatePeer(ctx, tt.p); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreatePeer with the %s: %v, want ErrExists", tt.name, err)
		}
	}
	if got, err := s.Peer(ctx, "JP-CERT"); err != nil || !cmp.Equal(got, jp) {
		t.Errorf("Peer(JP-CERT) = %+v, %v\n%s", got, err, cmp.Diff(jp, got))
	}
	if got, err := s.Peer(ctx, "KR-CERT"); err != nil || got.SigningKey != nil || got.Token != "" || got.InboundTokenSHA256 != nil || !got.LastContact.IsZero() {
		t.Errorf("a peer without key, tokens or contact: %+v, %v", got, err)
	}
	if _, err := s.Peer(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent peer: %v", err)
	}
	list, err := s.ListPeers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Peer{jp, kr}, list); diff != "" {
		t.Errorf("ListPeers (-want +got):\n%s", diff)
	}

	// Update replaces the mutable fields and keeps the rest.
	upd := kr
	upd.URL = "https://kr2.example/taxii2/"
	upd.CertSHA256 = fingerprint("kr2")
	upd.SigningKey = make([]byte, 32)
	upd.Country = "KR"
	upd.Created = t0.Add(time.Hour) // ignored
	if err := s.UpdatePeer(ctx, upd); err != nil {
		t.Fatal(err)
	}
	upd.Created = kr.Created
	if got, err := s.Peer(ctx, "KR-CERT"); err != nil || !cmp.Equal(got, upd) {
		t.Errorf("after UpdatePeer: %+v, %v\n%s", got, err, cmp.Diff(upd, got))
	}
	if err := s.UpdatePeer(ctx, store.Peer{Name: "nope", CertSHA256: fingerprint("nope")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePeer of an absent peer: %v", err)
	}
	clash := upd
	clash.CertSHA256 = jp.CertSHA256
	if err := s.UpdatePeer(ctx, clash); !errors.Is(err, store.ErrExists) {
		t.Errorf("UpdatePeer to another peer's certificate: %v, want ErrExists", err)
	}

	// Last contact only moves forward.
	for _, tt := range []struct {
		at, want time.Time
	}{
		{t0.Add(time.Minute), t0.Add(time.Minute)},
		{t0.Add(3 * time.Minute), t0.Add(3 * time.Minute)},
		{t0.Add(2 * time.Minute), t0.Add(3 * time.Minute)},
	} {
		if err := s.SetPeerContact(ctx, "JP-CERT", tt.at); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Peer(ctx, "JP-CERT"); err != nil || !got.LastContact.Equal(tt.want) {
			t.Errorf("after contact at %v: last contact %v, %v; want %v", tt.at, got.LastContact, err, tt.want)
		}
	}
	if err := s.SetPeerContact(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPeerContact of an absent peer: %v", err)
	}

	if err := s.DeletePeer(ctx, "KR-CERT"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePeer(ctx, "KR-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if list, err := s.ListPeers(ctx); err != nil || len(list) != 1 || list[0].Name != "JP-CERT" {
		t.Errorf("after delete: %+v, %v", list, err)
	}
}

// testPeerInboundToken: the hash of the token a peer must present is kept
// apart from the record's other fields: UpdatePeer leaves it alone, only
// SetPeerInboundToken changes it, and nothing but a SHA-256 is stored.
func testPeerInboundToken(t *testing.T, s store.Peers) {
	sum := func(tok string) []byte { h := sha256.Sum256([]byte(tok)); return h[:] }
	jp := store.Peer{Name: "JP-CERT", URL: "https://jp.example/", CertSHA256: fingerprint("jp"), Created: t0}
	if err := s.CreatePeer(ctx, jp); err != nil {
		t.Fatal(err)
	}
	want := func(what string, sum []byte) {
		t.Helper()
		got, err := s.Peer(ctx, "JP-CERT")
		if err != nil || !cmp.Equal(got.InboundTokenSHA256, sum) {
			t.Errorf("%s: inbound token hash %x, %v; want %x", what, got.InboundTokenSHA256, err, sum)
		}
		list, err := s.ListPeers(ctx)
		if err != nil || len(list) != 1 || !cmp.Equal(list[0].InboundTokenSHA256, sum) {
			t.Errorf("%s: ListPeers = %+v, %v; want inbound token hash %x", what, list, err, sum)
		}
	}
	want("created without", nil)

	if err := s.SetPeerInboundToken(ctx, "JP-CERT", sum("first")); err != nil {
		t.Fatal(err)
	}
	want("required", sum("first"))
	if err := s.SetPeerInboundToken(ctx, "JP-CERT", sum("second")); err != nil {
		t.Fatal(err)
	}
	want("replaced", sum("second"))

	// An update from a record read before the token was set neither drops
	// nor changes the requirement.
	stale := jp
	stale.URL = "https://jp2.example/"
	if err := s.UpdatePeer(ctx, stale); err != nil {
		t.Fatal(err)
	}
	want("after UpdatePeer without it", sum("second"))
	stale.InboundTokenSHA256 = sum("other")
	if err := s.UpdatePeer(ctx, stale); err != nil {
		t.Fatal(err)
	}
	want("after UpdatePeer with another", sum("second"))

	for _, bad := range [][]byte{make([]byte, 16), make([]byte, 33)} {
		if err := s.SetPeerInboundToken(ctx, "JP-CERT", bad); err == nil {
			t.Errorf("SetPeerInboundToken with %d bytes succeeded", len(bad))
		}
	}
	want("after refused hashes", sum("second"))
	if err := s.SetPeerInboundToken(ctx, "nope", sum("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPeerInboundToken of an absent peer: %v, want ErrNotFound", err)
	}

	if err := s.SetPeerInboundToken(ctx, "JP-CERT", nil); err != nil {
		t.Fatal(err)
	}
	want("cleared", nil)
	if err := s.SetPeerInboundToken(ctx, "JP-CERT", nil); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	want("cleared twice", nil)

	kr := store.Peer{Name: "KR-CERT", URL: "https://kr.example/", CertSHA256: fingerprint("kr"), Created: t0,
		InboundTokenSHA256: make([]byte, 31)}
	if err := s.CreatePeer(ctx, kr); err == nil {
		t.Error("CreatePeer with a 31-byte inbound token hash succeeded")
	}
	kr.InboundTokenSHA256 = sum("kr")
	if err := s.CreatePeer(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Peer(ctx, "KR-CERT"); err != nil || !cmp.Equal(got, kr) {
		t.Errorf("Peer(KR-CERT) = %+v, %v\n%s", got, err, cmp.Diff(kr, got))
	}
	// A removed peer added again starts without the requirement.
	if err := s.DeletePeer(ctx, "KR-CERT"); err != nil {
		t.Fatal(err)
	}
	kr.InboundTokenSHA256 = nil
	if err := s.CreatePeer(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Peer(ctx, "KR-CERT"); err != nil || got.InboundTokenSHA256 != nil {
		t.Errorf("re-added peer: inbound token hash %x, %v; want none", got.InboundTokenSHA256, err)
	}
}

func agreementVersion(peer string, version int64, content string) store.Agreement {
	body := fmt.Sprintf(`{"peer":%q,"version":%d,"x":%q}`, peer, version, content)
	return store.Agreement{Peer: peer, Version: version, Body: []byte(body), Hash: sha256.Sum256([]byte(body)),
		Applied: t0.Add(time.Duration(version) * time.Minute)}
}

func testAgreements(t *testing.T, s store.Peers) {
	if err := s.CreatePeer(ctx, store.Peer{Name: "JP-CERT", URL: "https://jp.example/", CertSHA256: fingerprint("jp"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Agreement(ctx, "JP-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Agreement before any: %v, want ErrNotFound", err)
	}
	if h, err := s.AgreementHistory(ctx, "JP-CERT"); err != nil || len(h) != 0 {
		t.Errorf("history before any: %v, %v", h, err)
	}
	if _, err := s.AgreementHistory(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of an absent peer: %v, want ErrNotFound", err)
	}
	v1, v3 := agreementVersion("JP-CERT", 1, "a"), agreementVersion("JP-CERT", 3, "c")
	for _, tt := range []struct {
		name        string
		a           store.Agreement
		wantChanged bool
		wantErr     error
	}{
		{"first version", v1, true, nil},
		{"same again", v1, false, nil},
		{"same version, other content", agreementVersion("JP-CERT", 1, "b"), false, store.ErrConflict},
		{"absent peer", agreementVersion("nope", 1, "a"), false, store.ErrNotFound},
		{"higher version", v3, true, nil},
		{"a version below, never applied", agreementVersion("JP-CERT", 2, "b"), false, store.ErrConflict},
		{"an older version, as applied", v1, false, nil},
		{"an older version, other content", agreementVersion("JP-CERT", 1, "z"), false, store.ErrConflict},
		{"the current one again", v3, false, nil},
	} {
		changed, err := s.PutAgreement(ctx, tt.a)
		if changed != tt.wantChanged || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: PutAgreement = %v, %v; want %v, %v", tt.name, changed, err, tt.wantChanged, tt.wantErr)
		}
	}
	if got, err := s.Agreement(ctx, "JP-CERT"); err != nil || !cmp.Equal(got, v3) {
		t.Errorf("Agreement = %+v, %v\n%s", got, err, cmp.Diff(v3, got))
	}
	h, err := s.AgreementHistory(ctx, "JP-CERT")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Agreement{v1, v3}, h); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	// A removed peer takes its agreements with it: added again, it starts
	// from no agreement.
	if err := s.DeletePeer(ctx, "JP-CERT"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePeer(ctx, store.Peer{Name: "JP-CERT", URL: "https://jp.example/", CertSHA256: fingerprint("jp"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Agreement(ctx, "JP-CERT"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Agreement of a re-added peer: %v, want ErrNotFound", err)
	}
	if changed, err := s.PutAgreement(ctx, agreementVersion("JP-CERT", 1, "new")); err != nil || !changed {
		t.Errorf("first version for a re-added peer: %v, %v", changed, err)
	}
}

// testAgreementRace applies different contents under one version at once:
// exactly one is recorded and the others are conflicts.
func testAgreementRace(t *testing.T, s store.Peers) {
	if err := s.CreatePeer(ctx, store.Peer{Name: "JP-CERT", URL: "https://jp.example/", CertSHA256: fingerprint("jp"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	changed := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { changed[i], errs[i] = s.PutAgreement(ctx, agreementVersion("JP-CERT", 2, fmt.Sprint(i))) })
	}
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case errs[i] == nil && changed[i]:
			won++
		case !errors.Is(errs[i], store.ErrConflict):
			t.Errorf("apply %d: %v, %v", i, changed[i], errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d applies of version 2 were recorded, want 1: %v", won, errs)
	}
	if h, err := s.AgreementHistory(ctx, "JP-CERT"); err != nil || len(h) != 1 {
		t.Errorf("history after the race: %d versions, %v", len(h), err)
	}
}
