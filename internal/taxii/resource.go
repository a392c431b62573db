package taxii

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Discovery is the discovery resource served at /taxii2/.
type Discovery struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Contact     string `json:"contact,omitempty"`
	// Default is the URL of the API root a client should use by default.
	Default  string   `json:"default,omitempty"`
	APIRoots []string `json:"api_roots,omitempty"`
}

// APIRoot is the API root information resource.
type APIRoot struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Versions lists the TAXII media types the root supports
	// (MediaTAXII for Setu).
	Versions []string `json:"versions,omitempty"`
	// MaxContentLength is the largest request body, in bytes, the root
	// accepts.
	MaxContentLength int64 `json:"max_content_length"`
}

// Collections is the resource listing the collections a requester may see.
type Collections struct {
	Collections []Collection `json:"collections,omitempty"`
}

// Collection is the collection resource.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Envelope is the envelope resource carrying objects and paging state.
//
// Objects holds each object's bytes exactly as received or stored: Setu
// serves the stored canonical body unchanged, and a client relaying objects
// must not re-encode what it did not validate. Decoding keeps the bytes as
// they were; encoding writes each object compacted, which leaves bytes
// already in canonical form (RFC 8785) unchanged. To send bytes exactly as
// they are, post them with Client.AddEnvelope.
type Envelope struct {
	// More is written even when false, so a client never has to know the
	// default to stop paging.
	More    bool             `json:"more"`
	Next    string           `json:"next,omitempty"`
	Objects []jsontext.Value `json:"objects,omitempty"`
	// Extra keeps members the specification does not define (such as a
	// peer's provenance block) so that they survive a decode and encode.
	Extra map[string]jsontext.Value `json:",embed"`
}

// DecodeEnvelope decodes an envelope, refusing duplicate member names,
// invalid UTF-8 and objects entries that are not JSON objects. The returned
// objects do not alias data.
func DecodeEnvelope(data []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("taxii: decoding envelope: %w", err)
	}
	for i, o := range e.Objects {
		if o.Kind() != '{' {
			return nil, fmt.Errorf("taxii: decoding envelope: objects[%d] is not a JSON object", i)
		}
	}
	return &e, nil
}

// Manifest is the manifest resource. Next is not among the members the
// specification lists for this resource, but the endpoint takes a next
// parameter, so Setu sends the token here as it does in an envelope.
type Manifest struct {
	More    bool             `json:"more"`
	Next    string           `json:"next,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`
}

// ManifestRecord describes one version of one object in a collection.
type ManifestRecord struct {
	ID        string    `json:"id"`
	DateAdded Timestamp `json:"date_added"`
	// Version is the object's modified value as the object states it (or
	// created, or date_added for objects without either), kept as a string
	// so its precision survives.
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// Versions is the versions resource; Next as in Manifest.
type Versions struct {
	More     bool     `json:"more"`
	Next     string   `json:"next,omitempty"`
	Versions []string `json:"versions,omitempty"`
}

// Values of Status.Status.
const (
	StatusPending  = "pending"
	StatusComplete = "complete"
)

// Status is the status resource returned for an add-objects request.
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp Timestamp      `json:"request_timestamp,omitzero"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail names one object version of an add-objects request.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// Error is the TAXII error message resource. It is also a Go error, so the
// client can return a server's answer as is and the server can carry one
// from where a condition is known to where the response is written.
type Error struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ErrorID     string `json:"error_id,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	// HTTPStatus is the HTTP status code as a string, as the specification
	// types it.
	HTTPStatus      string         `json:"http_status,omitempty"`
	ExternalDetails string         `json:"external_details,omitempty"`
	Details         map[string]any `json:"details,omitempty"`

	// status is the code of the HTTP response the error arrived in; it
	// wins over HTTPStatus, which a server may have left out or got wrong.
	status int
	// request is the method and URL (without credentials) of the request
	// the error answered, when it was received: a message then says which
	// server and resource failed.
	request string
}

// NewError returns an error message for HTTP status code, titled with the
// status text unless title is given.
func NewError(code int, title, description string) *Error {
	if title == "" {
		title = http.StatusText(code)
	}
	return &Error{Title: title, Description: description, HTTPStatus: strconv.Itoa(code), status: code}
}

// StatusCode returns the HTTP status of the error: the response's when the
// error was received, else HTTPStatus, else 0.
func (e *Error) StatusCode() int {
	if e.status != 0 {
		return e.status
	}
	n, err := strconv.Atoi(e.HTTPStatus)
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}

func (e *Error) Error() string {
	s := "taxii: "
	if e.request != "" {
		s += e.request + ": "
	}
	s += strconv.Itoa(e.StatusCode()) + " " + e.Title
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// ErrPagination reports a server that claims more results without a usable
// next token: none, or one already followed.
var ErrPagination = errors.New("taxii: server reports more results but no new next token")
