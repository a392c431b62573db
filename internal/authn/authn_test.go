package authn_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/setu-cti/setu/internal/authn"
)

func TestNewPeerToken(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		secret, sum, err := authn.NewPeerToken()
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(secret, "setu_peer_")
		if !ok {
			t.Fatalf("token %q lacks its prefix", secret)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if err != nil || len(raw) < 32 {
			t.Errorf("token %q: %d random bytes, %v; want at least 32, URL-safe base64", secret, len(raw), err)
		}
		if want := sha256.Sum256([]byte(secret)); string(sum) != string(want[:]) {
			t.Errorf("sum %x is not the SHA-256 of the token", sum)
		}
		if seen[secret] {
			t.Errorf("token %q made twice", secret)
		}
		seen[secret] = true
	}
}

func TestCheckPeerToken(t *testing.T) {
	secret, sum, err := authn.NewPeerToken()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := authn.NewPeerToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		sum    []byte
		header string // Authorization; "" for none
		basic  string // HTTP Basic password, user "peer"
		ok     bool
	}{
		{name: "not required, none sent", sum: nil, ok: true},
		{name: "not required, one sent", sum: nil, header: "Bearer " + other, ok: true},
		{name: "required, none sent", sum: sum},
		{name: "required, wrong token", sum: sum, header: "Bearer " + other},
		{name: "required, right token", sum: sum, header: "Bearer " + secret, ok: true},
		{name: "required, scheme in lower case", sum: sum, header: "bearer " + secret, ok: true},
		{name: "required, empty bearer", sum: sum, header: "Bearer "},
		{name: "required, token cut short", sum: sum, header: "Bearer " + secret[:len(secret)-1]},
		{name: "required, token with more after it", sum: sum, header: "Bearer " + secret + "x"},
		{name: "required, the hash sent as the token", sum: sum, header: "Bearer " + string(sum)},
		{name: "required, right token as HTTP Basic password", sum: sum, basic: secret},
		{name: "required, token without a scheme", sum: sum, header: secret},
		{name: "a stored hash of the wrong length", sum: sum[:16], header: "Bearer " + secret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://node.example/taxii2/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.basic != "" {
				r.SetBasicAuth("peer", tt.basic)
			}
			err := authn.CheckPeerToken(r, tt.sum)
			switch {
			case tt.ok && err != nil:
				t.Errorf("CheckPeerToken = %v, want success", err)
			case !tt.ok && !errors.Is(err, authn.ErrUnauthorized):
				t.Errorf("CheckPeerToken = %v, want ErrUnauthorized", err)
			}
		})
	}
}
