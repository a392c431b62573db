// Package httpserver composes Setu's HTTP handlers into one http.Handler:
// routes, request logging, metrics, health, and the node's TLS set-up.
// Handler packages never import each other; they meet here.
package httpserver

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// Config is what the server is built from. Store is required; TAXII may be
// nil (health only).
type Config struct {
	Store store.Store
	TAXII http.Handler
	// Manage is the management API, mounted at /manage/v1/.
	Manage  http.Handler
	Log     *slog.Logger
	Metrics *Metrics
}

// New returns the node's root handler.
func New(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// A cheap read that proves the database answers.
		_, err := cfg.Store.Collections(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			cfg.Log.Error("healthz", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", cfg.Metrics)
	if cfg.Manage != nil {
		mux.Handle("/manage/v1/", cfg.Manage)
	}
	if cfg.TAXII != nil {
		mux.Handle("/", cfg.TAXII)
	}
	return logRequests(cfg.Log, cfg.Metrics, mux)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// logRequests writes one structured line per request and counts it.
func logRequests(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(taxiiserver.WithPrincipalSlot(r.Context()))
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		ep := Endpoint(r.URL.Path)
		d := time.Since(start)
		m.Request(ep, r.Method, rec.status, d)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "endpoint", ep, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", float64(d.Microseconds()) / 1000, "remote", r.RemoteAddr}
		if p, ok := taxiiserver.PrincipalFrom(r.Context()); ok && p.User.Name != "" {
			attrs = append(attrs, "user", p.User.Name, "org", p.Org.ID)
		}
		log.Info("request", attrs...)
	})
}

// Endpoint names the TAXII endpoint a path addresses, for logs and metrics
// (bounded cardinality: ids never appear).
func Endpoint(path string) string {
	switch path {
	case "/healthz":
		return "healthz"
	case "/metrics":
		return "metrics"
	case "/taxii2/":
		return "discovery"
	}
	if strings.HasPrefix(path, "/manage/") {
		return "manage"
	}
	// Every TAXII path ends in '/', and the discovery tree has one resource;
	// anything else (a browser's /favicon.ico, /taxii2 without its slash) is
	// not an endpoint and must not be counted as the API root.
	if !strings.HasSuffix(path, "/") || strings.HasPrefix(path, "/taxii2/") {
		return "other"
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] != "":
		return "api_root"
	case len(segs) == 3 && segs[1] == "status":
		return "status"
	case len(segs) >= 2 && segs[1] == "collections":
		switch len(segs) {
		case 2:
			return "collections"
		case 3:
			return "collection"
		case 4:
			if segs[3] == "objects" {
				return "objects"
			}
			if segs[3] == "manifest" {
				return "manifest"
			}
		case 5:
			if segs[3] == "objects" {
				return "object"
			}
		case 6:
			if segs[3] == "objects" && segs[5] == "versions" {
				return "versions"
			}
		}
	}
	return "other"
}
