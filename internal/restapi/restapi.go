// Package restapi is Setu's management API for the UI and automation: JSON
// over HTTP under /manage/v1/, authenticated like TAXII (HTTP Basic with an
// API token, or Bearer), and described by the OpenAPI 3.1 document served
// at /manage/v1/openapi.json.
//
// Node admins manage everything; an organisation's org-admins manage their
// own organisation's users and tokens, except node admins who belong to it
// (403), and cannot create admins; other roles may only read their own user
// record and manage their own tokens. Token lifetimes are at most ten years. Anything a caller may not see is 404, so the API
// does not reveal which organisations, users or collections exist.
package restapi

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

// openAPI is the API's OpenAPI 3.1 document, served at Prefix+"openapi.json"
// to anyone (it describes the API, not the node's data); a test checks
// that it describes exactly the routes New registers.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// Prefix is where the API is mounted.
const Prefix = "/manage/v1/"

// DB is the storage the API needs.
type DB interface {
	store.Store
	store.Accounts
	store.Groups
}

// Config configures the handler; DB is required.
type Config struct {
	DB DB
	// Audit, when set, records every change made through the API before it
	// is answered.
	Audit *audit.Logger
	Log   *slog.Logger
	Now   func() time.Time
	// Detect, when set, serves POST match: observations matched against
	// the indicators the caller may see.
	Detect *detect.Engine
	// Policy is the node's policy configuration, for what the API writes.
	Policy policy.Config
	// NodeIdentity is the node's STIX identity id, named as creator in
	// the released body of an anonymous organisation's objects (see
	// ingest.WithNodeIdentity); empty: ingest's default.
	NodeIdentity string
}

// API is the management handler.
type API struct {
	cfg  Config
	auth *authn.Authenticator
	mux  *http.ServeMux
}

// New returns the management API handler (mount it at Prefix).
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, auth: &authn.Authenticator{Accounts: cfg.DB, Now: cfg.Now}}
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"whoami", a.authed(a.whoami))
	m.HandleFunc("GET "+Prefix+"orgs", a.authed(a.listOrgs))
	m.HandleFunc("POST "+Prefix+"orgs", a.authed(a.createOrg))
	m.HandleFunc("GET "+Prefix+"users", a.authed(a.listUsers))
	m.HandleFunc("POST "+Prefix+"users", a.authed(a.createUser))
	m.HandleFunc("POST "+Prefix+"users/{name}/disable", a.authed(a.setDisabled(true)))
	m.HandleFunc("POST "+Prefix+"users/{name}/enable", a.authed(a.setDisabled(false)))
	m.HandleFunc("GET "+Prefix+"users/{name}/tokens", a.authed(a.listTokens))
	m.HandleFunc("POST "+Prefix+"users/{name}/tokens", a.authed(a.createToken))
	m.HandleFunc("DELETE "+Prefix+"users/{name}/tokens/{id}", a.authed(a.revokeToken))
	m.HandleFunc("GET "+Prefix+"collections", a.authed(a.listCollections))
	m.HandleFunc("POST "+Prefix+"collections", a.authed(a.createCollection))
	m.HandleFunc("GET "+Prefix+"collections/{id}/grants", a.authed(a.listGrants))
	m.HandleFunc("PUT "+Prefix+"collections/{id}/grants/{org}", a.authed(a.setGrant))
	m.HandleFunc("GET "+Prefix+"groups", a.authed(a.listGroups))
	m.HandleFunc("POST "+Prefix+"groups", a.authed(a.createGroup))
	m.HandleFunc("GET "+Prefix+"groups/{id}/members", a.authed(a.listMembers))
	m.HandleFunc("PUT "+Prefix+"groups/{id}/members/{member}", a.authed(a.setMember(true)))
	m.HandleFunc("DELETE "+Prefix+"groups/{id}/members/{member}", a.authed(a.setMember(false)))
	m.HandleFunc("POST "+Prefix+"match", a.authed(a.matchObservations))
	m.HandleFunc("GET "+Prefix+"markings", a.authed(a.listMarkings))
	m.HandleFunc("POST "+Prefix+"markings", a.authed(a.createMarking))
	m.HandleFunc("POST "+Prefix+"collections/{id}/objects", a.authed(a.importObjects))
	m.HandleFunc("GET "+Prefix+"openapi.json", serveOpenAPI)
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) { a.fail(w, r, errNotFound) })
	a.mux = m
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// apiError is a condition with a status and a message safe to show.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func bad(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// ingester is the write path as the API uses it.
func (a *API) ingester(opts ...ingest.Option) *ingest.Ingester {
	opts = append([]ingest.Option{ingest.WithPolicy(a.cfg.Policy), ingest.WithGroups(a.cfg.DB)}, opts...)
	if a.cfg.NodeIdentity != "" {
		opts = append(opts, ingest.WithNodeIdentity(a.cfg.NodeIdentity))
	}
	return ingest.New(a.cfg.DB, 0, opts...)
}

var (
	errNotFound  = &apiError{http.StatusNotFound, "not found"}
	errForbidden = &apiError{http.StatusForbidden, "forbidden"}
	errAuth      = &apiError{http.StatusUnauthorized, "authentication required"}
)

// fail maps errors to statuses; unexpected ones are logged, not shown.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = errNotFound
	case errors.Is(err, store.ErrExists):
		ae = &apiError{http.StatusConflict, "already exists"}
	case errors.Is(err, account.ErrInvalid):
		ae = &apiError{http.StatusBadRequest, err.Error()}
	default:
		id := uuid.NewString()
		a.cfg.Log.Error("management API", "error_id", id, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal error " + id}
	}
	if ae.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", authn.Challenge)
	}
	writeJSON(w, ae.code, map[string]any{"error": ae.msg, "status": ae.code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(v, json.Deterministic(true))
	w.Write(append(b, '\n'))
}

// maxBody bounds a request body; management requests are small.
const maxBody = 1 << 20

// decode reads a JSON request body strictly: unknown fields and trailing
// data are errors.
func decode(r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := json.UnmarshalRead(r.Body, v, json.RejectUnknownMembers(true)); err != nil {
		// Too large is the client's size, not its syntax: say so, as 413.
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
		}
		return bad("invalid request body: %v", err)
	}
	return nil
}

func (a *API) authed(h func(http.ResponseWriter, *http.Request, store.Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := a.auth.Authenticate(r)
		if errors.Is(err, authn.ErrUnauthorized) {
			err = errAuth
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	}
}

// record logs a change in the audit log; a change that cannot be recorded
// is reported to the client as a failure (it has been made, though).
func (a *API) record(r *http.Request, p store.Principal, action string, objects ...string) error {
	if a.cfg.Audit == nil {
		return nil
	}
	rec := a.recordOf(r, p, action)
	rec.Objects = objects
	return a.cfg.Audit.Log(r.Context(), rec)
}

// recordOf is the audit record of the request's action, naming no objects.
func (a *API) recordOf(r *http.Request, p store.Principal, action string) audit.Record {
	return audit.Record{Actor: p.User.Name, Org: p.Org.ID, Action: action,
		Path: "manage:" + strings.TrimPrefix(r.Pattern, r.Method+" "+Prefix), Rule: string(p.User.Role), Status: 200}
}

func isAdmin(p store.Principal) bool { return p.User.Role == account.Admin }

// canManageOrg reports whether p manages the users of org.
func canManageOrg(p store.Principal, org string) bool {
	return isAdmin(p) || (p.User.Role == account.OrgAdmin && p.Org.ID == org)
}
