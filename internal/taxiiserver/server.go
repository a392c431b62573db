// Package taxiiserver serves the TAXII 2.1 endpoints as an http.Handler:
// discovery, API root, status, collections, objects (GET, POST), object (GET,
// DELETE), manifest and versions.
//
// Contract:
//   - Every request is authenticated (HTTP Basic with the user name and an API
//     token as password, or a Bearer token); a 401 carries WWW-Authenticate.
//   - With SetPeers, a partner node authenticates by the client certificate
//     it presents in mutual TLS, pinned by its SHA-256, and, when its
//     operator requires one, by a Bearer token beside it (a certificate
//     naming such a peer without the right token is a 401; the token
//     without the certificate is no peer's credential); it reads as itself
//     (the policy gate decides as that peer), sees only what the sync engine
//     opens to it, and is served provenance beside the objects.
//   - A collection the caller may neither read nor write does not exist for
//     them (404); one they may not read gives 403 on reads, one they may not
//     write 403 on POST and DELETE.
//   - Paging is by the store's commit-ordered sequence. A `next` token is
//     sealed with AES-GCM under a key kept in the store, so it survives
//     restarts and works on every instance sharing the database; it binds the
//     collection, the reader and the match filters (never `limit`).
//   - POST stores the envelope as a job and answers 202 with a durable status;
//     a worker (Run) on any instance decides every object through the one
//     write path and completes the status. A job this instance finishes
//     within Config.CompleteWithin is answered complete, with its final
//     status, so clients need not poll for small adds.
//   - Errors are TAXII error messages whose http_status is the status code as
//     a string; internal detail is logged, never shown.
package taxiiserver

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

// DB is the storage the server needs.
type DB interface {
	store.Store
	store.Accounts
	store.Statuses
	store.Secrets
	store.Deleter
	store.Groups
}

// Config configures a Server. DB and Ingest are required.
type Config struct {
	DB     DB
	Ingest *ingest.Ingester
	Log    *slog.Logger
	// Audit, when set, records every authenticated response (what was
	// released to whom, under which rule) before it is sent; its presence
	// also has every batch a POST job stores recorded, by the store, in
	// the batch's own transaction.
	Audit *audit.Logger
	// Policy decides per object who may read; every read goes through a
	// policy.Gate built from it.
	Policy policy.Config

	Title       string // discovery title
	Description string
	Contact     string
	// APIRoot is the single API root's path segment (default "api").
	APIRoot string
	// MaxContentLength is the largest POST body accepted (default 64 MiB).
	MaxContentLength int64
	// DefaultLimit is the page size when the client gives none (default
	// 1000); MaxLimit caps what a client may ask for (default 10000).
	DefaultLimit, MaxLimit int
	// StatusTTL is how long finished statuses are kept (default 72h, at
	// least the 24h the product promises).
	StatusTTL time.Duration
	// CompleteWithin is how long a POST waits for its objects to be
	// decided before it answers: a job finished within it is answered
	// with its final, complete status in the 202 (the envelope is stored
	// as a job first either way); a larger one is answered pending and
	// finishes in the background. Default 2s; negative: never wait.
	CompleteWithin time.Duration
	// Lease is how long a worker holds a POST job before another instance may
	// take it over (default 1 minute).
	Lease time.Duration
	// Instance names this process as a job lease owner.
	Instance string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the TAXII 2.1 handler. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	seal *sealer
	auth *authn.Authenticator
	gate *policy.Gate
	wake chan struct{}
	// local carries POSTs this instance accepted and leased to itself;
	// slots bounds them so a send on local never blocks.
	local chan localJob
	slots chan struct{}
	// ingested counts objects decided by POST jobs (for metrics).
	metrics Metrics
	// peers, when set, authenticates partner nodes by certificate.
	peers Peers
}

// localJobs bounds the accepted POSTs waiting for this instance's worker;
// beyond it, jobs are stored unleased for any instance to claim.
const localJobs = 64

// Metrics receives counts from the server; nil methods are not called.
type Metrics interface {
	Ingested(added, duplicate, rejected int, d time.Duration)
}

// New builds a server, loading (or creating) its token key from the store.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Ingest == nil {
		return nil, errors.New("taxiiserver: DB and Ingest are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Title == "" {
		cfg.Title = "Setu TAXII 2.1 server"
	}
	if cfg.APIRoot == "" {
		cfg.APIRoot = "api"
	}
	if cfg.MaxContentLength <= 0 {
		cfg.MaxContentLength = 64 << 20
	}
	if cfg.DefaultLimit <= 0 {
		cfg.DefaultLimit = 1000
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 10000
	}
	if cfg.StatusTTL < 24*time.Hour {
		cfg.StatusTTL = 72 * time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.CompleteWithin == 0 {
		cfg.CompleteWithin = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Instance == "" {
		var b [8]byte
		rand.Read(b[:])
		cfg.Instance = "instance-" + hexString(b[:])
	}
	key, err := cfg.DB.Secret(ctx, "taxii-next-key", func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, seal: seal, wake: make(chan struct{}, 1),
		local: make(chan localJob, localJobs), slots: make(chan struct{}, localJobs),
		auth: &authn.Authenticator{Accounts: cfg.DB, Now: cfg.Now},
		gate: policy.NewGate(cfg.DB, cfg.Policy)}
	s.routes()
	return s, nil
}

// SetMetrics installs a metrics sink; call before serving.
func (s *Server) SetMetrics(m Metrics) { s.metrics = m }

// Handler returns the TAXII handler (mount it at "/").
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every TAXII path ends in '/'. Answer others with a TAXII 404 rather
	// than the mux's redirect, which would lose a POST body.
	if !strings.HasSuffix(r.URL.Path, "/") {
		s.fail(w, r, errNotFound)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	root := "/" + s.cfg.APIRoot
	m.HandleFunc("/taxii2/{$}", s.authed("discovery", s.discovery))
	m.HandleFunc(root+"/{$}", s.authed("api_root", s.apiRoot))
	m.HandleFunc(root+"/status/{status}/{$}", s.authed("status", s.status))
	m.HandleFunc(root+"/collections/{$}", s.authed("collections", s.collections))
	m.HandleFunc(root+"/collections/{coll}/{$}", s.authed("collection", s.collection))
	m.HandleFunc(root+"/collections/{coll}/objects/{$}", s.authed("objects", s.objects))
	m.HandleFunc(root+"/collections/{coll}/objects/{obj}/{$}", s.authed("object", s.object))
	m.HandleFunc(root+"/collections/{coll}/objects/{obj}/versions/{$}", s.authed("versions", s.versions))
	m.HandleFunc(root+"/collections/{coll}/manifest/{$}", s.authed("manifest", s.manifest))
	// Everything else under the TAXII tree is a TAXII 404, so clients get a
	// TAXII error body (this includes paths missing their trailing slash).
	m.HandleFunc("/taxii2/", s.notFound)
	m.HandleFunc(root+"/", s.notFound)
	s.mux = m
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errNotFound)
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
