package taxiiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// fakePeers pins partner nodes by certificate and lets each read one
// collection, so a listing shows who the server took the caller for.
type fakePeers struct {
	byCert map[[32]byte]store.Peer
	read   string
}

func (f fakePeers) PeerByCert(_ context.Context, fp [32]byte) (store.Peer, error) {
	if p, ok := f.byCert[fp]; ok {
		return p, nil
	}
	return store.Peer{}, store.ErrNotFound
}

func (f fakePeers) PeerAccess(_ context.Context, _, coll string) (bool, bool, error) {
	return coll == f.read, false, nil
}

func (fakePeers) PeerProvenance(context.Context, string, []store.Version) (jsontext.Value, error) {
	return nil, nil
}

func (fakePeers) Receive(context.Context, string, string, []jsontext.Value, jsontext.Value) ([]error, error) {
	return nil, errors.New("no push in this test")
}

// clientCert makes a self-signed client certificate such as a partner node
// presents.
func clientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestPeerInboundToken: a partner node is named by its certificate; one
// whose operator requires a token must send it too. The token never stands
// in for the certificate, and a certificate naming such a peer is never
// tried as a user's.
func TestPeerInboundToken(t *testing.T) {
	w := newWorld(t, backends()[0])
	jpCert, krCert, strangerCert := clientCert(t), clientCert(t), clientCert(t)
	krToken, krSum, err := authn.NewPeerToken()
	must(t, err)
	otherToken, _, err := authn.NewPeerToken()
	must(t, err)
	peers := fakePeers{read: w.coll["ro"], byCert: map[[32]byte]store.Peer{
		sha256.Sum256(jpCert.Certificate[0]): {Name: "JP"},
		sha256.Sum256(krCert.Certificate[0]): {Name: "KR", InboundTokenSHA256: krSum},
	}}
	w.ts.SetPeers(peers)
	srv := httptest.NewUnstartedServer(w.ts)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(cert *tls.Certificate, authz, basic string) response {
		t.Helper()
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequest("GET", srv.URL+"/api/collections/", nil)
		must(t, err)
		req.Header.Set("Accept", taxii.MediaTAXII)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if basic != "" {
			req.SetBasicAuth("KR", basic)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return response{resp.StatusCode, resp.Header, string(b)}
	}
	// What any unauthenticated request gets; a refused peer gets the same.
	anonymous := get(nil, "", "")
	if anonymous.status != http.StatusUnauthorized {
		t.Fatalf("no credentials at all: %d %s", anonymous.status, anonymous.body)
	}

	const (
		asPeer = "peer"
		asUser = "user"
		denied = "401"
	)
	for _, tt := range []struct {
		name  string
		cert  *tls.Certificate
		authz string // Authorization header
		basic string // HTTP Basic password
		want  string
	}{
		{"peer without the requirement, no token", &jpCert, "", "", asPeer},
		{"peer without the requirement, a token it need not send", &jpCert, "Bearer " + otherToken, "", asPeer},
		{"no token", &krCert, "", "", denied},
		{"wrong token", &krCert, "Bearer " + otherToken, "", denied},
		{"right token", &krCert, "Bearer " + krToken, "", asPeer},
		{"right token as HTTP Basic password", &krCert, "", krToken, denied},
		{"a user's API token instead", &krCert, "Bearer " + w.tokens["alice"], "", denied},
		{"token without a certificate", nil, "Bearer " + krToken, "", denied},
		{"token with a certificate no peer pins", &strangerCert, "Bearer " + krToken, "", denied},
		{"user behind a proxy with its own certificate", &strangerCert, "Bearer " + w.tokens["alice"], "", asUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := get(tt.cert, tt.authz, tt.basic)
			switch tt.want {
			case denied:
				if got.status != http.StatusUnauthorized || got.body != anonymous.body ||
					got.header.Get("WWW-Authenticate") != authn.Challenge || got.header.Get("Content-Type") != taxii.MediaTAXII {
					t.Errorf("got %d %v %s; want the 401 of an unauthenticated request: %s", got.status, got.header, got.body, anonymous.body)
				}
			case asPeer:
				if got.status != http.StatusOK || !strings.Contains(got.body, w.coll["ro"]) || strings.Contains(got.body, w.coll["rw"]) {
					t.Errorf("got %d %s; want the collections opened to the peer", got.status, got.body)
				}
			case asUser:
				if got.status != http.StatusOK || !strings.Contains(got.body, w.coll["rw"]) {
					t.Errorf("got %d %s; want alice's collections", got.status, got.body)
				}
			}
		})
	}
}
