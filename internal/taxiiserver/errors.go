package taxiiserver

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxii"
)

// httpError is a condition with a known HTTP status and a message safe to
// show the client.
type httpError struct {
	code        int
	title, desc string
}

func (e *httpError) Error() string { return e.title + ": " + e.desc }

func newErr(code int, title, format string, a ...any) error {
	return &httpError{code: code, title: title, desc: fmt.Sprintf(format, a...)}
}

var (
	errNotFound     = &httpError{http.StatusNotFound, "Not Found", "The requested resource does not exist."}
	errUnauthorized = &httpError{http.StatusUnauthorized, "Unauthorized", "Authenticate with HTTP Basic (user name and API token) or a Bearer token."}
	errNoRead       = &httpError{http.StatusForbidden, "Forbidden", "You may not read this collection."}
	errNoWrite      = &httpError{http.StatusForbidden, "Forbidden", "You may not write to this collection."}
	errNotAccept    = &httpError{http.StatusNotAcceptable, "Not Acceptable", "This resource is available as " + taxii.MediaTAXII + "."}
)

// fail writes err as a TAXII error message. One mapping from error kinds to
// statuses lives here; anything unexpected is logged and shown as a 500
// without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var fe *taxii.FilterError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &fe):
		he = &httpError{http.StatusBadRequest, "Bad Request", fe.Error()}
	case errors.As(err, &mbe):
		he = &httpError{http.StatusRequestEntityTooLarge, "Request Entity Too Large",
			fmt.Sprintf("The body exceeds this API root's max_content_length of %d bytes.", s.cfg.MaxContentLength)}
	case errors.Is(err, store.ErrNotFound):
		he = errNotFound
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		he = &httpError{http.StatusServiceUnavailable, "Service Unavailable", "The request was cancelled."}
	default:
		id := uuid.NewString()
		s.cfg.Log.Error("internal error", "error_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		he = &httpError{http.StatusInternalServerError, "Internal Server Error", "An internal error occurred; quote error_id " + id + " to the operator."}
	}
	if he.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", authn.Challenge)
	}
	te := taxii.NewError(he.code, he.title, he.desc)
	s.write(w, he.code, te)
}

// write sends v as a TAXII JSON resource.
func (s *Server) write(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		s.cfg.Log.Error("encoding response", "err", err)
		code, body = http.StatusInternalServerError, []byte(`{"title":"Internal Server Error","http_status":"500"}`)
	}
	w.Header().Set("Content-Type", taxii.MediaTAXII)
	w.WriteHeader(code)
	w.Write(body)
}
