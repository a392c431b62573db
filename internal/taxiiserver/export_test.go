package taxiiserver

import "github.com/setu-cti/setu/internal/taxii"

// NextBinding is what a next token binds, opened for test oracles that must
// tell a token the server should honour from one it must refuse.
type NextBinding struct {
	Collection, Reader, Filter, Object string
	Endpoint                           taxii.Endpoint
	Pos                                int64
}

// OpenNext authenticates tok with the server's key; ok is false for a token
// the server could not have sealed.
func (s *Server) OpenNext(tok string) (b NextBinding, ok bool) {
	c, err := s.seal.unseal(tok)
	if err != nil {
		return b, false
	}
	return NextBinding{Collection: c.Collection, Reader: c.Reader, Filter: c.Filter, Object: c.Object,
		Endpoint: taxii.Endpoint(c.Endpoint), Pos: c.Pos}, true
}
