package taxiiserver

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/go-json-experiment/json"
)

// cursor is what a next token carries. It binds the collection, the reader
// and the hash of the match filters; it deliberately does not bind limit,
// which clients change between pages. On the object and versions endpoints
// it also binds the object id from the path: positions are within one
// object's rows, so a token for one object must not page through another.
type cursor struct {
	Collection string `json:"c"`
	Reader     string `json:"u"`
	Filter     string `json:"f"`
	Endpoint   int    `json:"e"`
	Object     string `json:"o,omitempty"`
	Pos        int64  `json:"p"`
}

// sealer seals cursors with AES-256-GCM, so tokens are opaque, cannot be
// forged or altered, and need no server-side state.
type sealer struct{ aead cipher.AEAD }

var tokenAAD = []byte("setu taxii next v1")

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("taxiiserver: token key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: a}, nil
}

func (s *sealer) seal(c cursor) string {
	plain, _ := json.Marshal(c)
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, tokenAAD))
}

var errBadNext = newErr(http.StatusBadRequest, "Bad Request",
	"The next token is invalid, expired, or was issued for another collection, user or set of filters.")

// open checks a token against what the request binds and returns its position.
func (s *sealer) open(tok string, want cursor) (int64, error) {
	c, err := s.unseal(tok)
	if err != nil {
		return 0, err
	}
	if c.Collection != want.Collection || c.Reader != want.Reader || c.Filter != want.Filter || c.Endpoint != want.Endpoint ||
		c.Object != want.Object || c.Pos < 0 {
		return 0, errBadNext
	}
	return c.Pos, nil
}

// unseal authenticates and decodes a token without checking what it binds.
func (s *sealer) unseal(tok string) (cursor, error) {
	var c cursor
	// Strict decoding refuses non-zero padding bits, so every sealed token
	// has exactly one spelling and an altered one never opens.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return c, errBadNext
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], tokenAAD)
	if err != nil {
		return c, errBadNext
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		return c, errBadNext
	}
	return c, nil
}
