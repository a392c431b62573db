package taxiiserver

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

type auditKey struct{}

// auditRecord returns the audit record of the request being served, for
// handlers to say what they released; a throwaway record when the server
// keeps no audit log.
func auditRecord(ctx context.Context) *audit.Record {
	if rec, ok := ctx.Value(auditKey{}).(*audit.Record); ok {
		return rec
	}
	return &audit.Record{}
}

// released notes the versions a response releases and the rules that
// allowed them.
func released(ctx context.Context, vs []store.Version, rules []string) {
	rec := auditRecord(ctx)
	rec.Action = "release"
	for _, v := range vs {
		rec.Objects = append(rec.Objects, v.ID+"@"+versionString(v))
	}
	slices.Sort(rules)
	rec.Rule = strings.Join(slices.Compact(rules), ",")
}

// auditWriter logs the request's audit record when the response status is
// written, before any byte of it leaves: a release is never sent unrecorded.
// If the record cannot be stored the client gets a 503 instead.
type auditWriter struct {
	http.ResponseWriter
	ctx     context.Context
	log     *audit.Logger
	rec     *audit.Record
	done    bool
	failed  bool
	onError func(error)
}

func (a *auditWriter) WriteHeader(code int) {
	if a.done {
		a.ResponseWriter.WriteHeader(code)
		return
	}
	a.done = true
	a.rec.Status = code
	// A successful answer that released no object (discovery, collections,
	// a status poll) is not a release: it is not recorded, so that clients
	// polling a status do not contend with the writer for the log. Object
	// reads are always recorded, empty pages and not-found included.
	if a.rec.Action == "" && code < 400 {
		a.ResponseWriter.WriteHeader(code)
		return
	}
	if a.rec.Action == "" {
		switch {
		case code < 400:
			a.rec.Action = "read"
		case code == http.StatusForbidden || code == http.StatusNotFound:
			a.rec.Action = "deny"
		default:
			a.rec.Action = "error"
		}
	}
	if err := a.log.Log(a.ctx, *a.rec); err != nil {
		a.onError(err)
		a.failed = true
		a.ResponseWriter.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		a.ResponseWriter.WriteHeader(http.StatusServiceUnavailable)
		a.ResponseWriter.Write([]byte(`{"title":"Service Unavailable","description":"The request could not be recorded in the audit log.","http_status":"503"}`))
		return
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *auditWriter) Write(b []byte) (int, error) {
	if !a.done {
		a.WriteHeader(http.StatusOK)
	}
	if a.failed {
		return len(b), nil // the 503 went out instead
	}
	return a.ResponseWriter.Write(b)
}

// withAudit wraps a handler of an authenticated request so its response is
// recorded.
func (s *Server) withAudit(w http.ResponseWriter, r *http.Request, p store.Principal, endpoint string) (http.ResponseWriter, *http.Request) {
	if s.cfg.Audit == nil {
		return w, r
	}
	rec := &audit.Record{Actor: p.User.Name, Org: p.Org.ID, Path: "taxii:" + endpoint,
		Collection: r.PathValue("coll")}
	r = r.WithContext(context.WithValue(r.Context(), auditKey{}, rec))
	return &auditWriter{ResponseWriter: w, ctx: r.Context(), log: s.cfg.Audit, rec: rec,
		onError: func(err error) { s.cfg.Log.Error("audit log", "err", err) }}, r
}
