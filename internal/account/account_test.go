package account

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOrgValidate(t *testing.T) {
	good := Org{ID: "cert-in", Name: "CERT-In", Country: "IN", Kind: NationalCERT, Sectors: []string{"government"}}
	tests := []struct {
		name string
		edit func(*Org)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*Org) {}, ""},
		{"upper-case id", func(o *Org) { o.ID = "CERT" }, "organisation id"},
		{"no name", func(o *Org) { o.Name = " " }, "name is required"},
		{"country not alpha-2", func(o *Org) { o.Country = "IND" }, "ISO 3166-1"},
		{"lower-case country", func(o *Org) { o.Country = "in" }, "ISO 3166-1"},
		{"unknown kind", func(o *Org) { o.Kind = "club" }, "kind"},
		{"bad sector", func(o *Org) { o.Sectors = []string{"Energy Grid"} }, "sector"},
		{"identity of its own", func(o *Org) { o.Identity = NewIdentityID() }, ""},
		{"identity not a STIX identity id", func(o *Org) { o.Identity = "indicator--" + o.ID }, "identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			err := o.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestIdentityID: an organisation created now has an identity of its own,
// so the same organisation id on two nodes is two identities; one created
// before identities were per node keeps the id derived from its id.
func TestIdentityID(t *testing.T) {
	a, b := Org{ID: "cert-in"}, Org{ID: "jpcert"}
	if a.IdentityID() != (Org{ID: "cert-in"}).IdentityID() || a.IdentityID() == b.IdentityID() {
		t.Fatal("legacy identity ids must be a function of the organisation id")
	}
	if !strings.HasPrefix(a.IdentityID(), "identity--") {
		t.Fatal(a.IdentityID())
	}
	onIN, onJP := Org{ID: "cert-in", Identity: NewIdentityID()}, Org{ID: "cert-in", Identity: NewIdentityID()}
	if onIN.IdentityID() == onJP.IdentityID() || onIN.IdentityID() == a.IdentityID() || onIN.IdentityID() != onIN.Identity {
		t.Errorf("the same organisation id on two nodes: %s and %s", onIN.IdentityID(), onJP.IdentityID())
	}
}

func TestToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secret, tok, err := NewToken("alice", "ci", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	if strings.Contains(string(tok.Hash[:]), secret) {
		t.Fatal("stored record holds the secret")
	}
	revoked := tok
	revoked.Revoked = true
	tests := []struct {
		name   string
		tok    Token
		secret string
		at     time.Time
		want   error
	}{
		{"valid", tok, secret, now, nil},
		{"wrong secret", tok, secret + "x", now, ErrUnauthorized},
		{"expired", tok, secret, now.Add(time.Hour), ErrTokenExpired},
		{"revoked", revoked, secret, now, ErrTokenRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tok.Check(tt.secret, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := TokenFromSecret("alice", "short", "", now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short chosen secret accepted: %v", err)
	}
}
