package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

// syncDB is a node store that can run federation sync.
type syncDB interface {
	fedDB
	store.Sync
}

// startSync lets partner nodes in by their pinned certificates and runs
// the sync engine, one loop per peer, until ctx ends (wg tracks it). A
// node without a federation identity serves no peers and syncs nothing.
//
// SETU_SYNC_INTERVAL (a Go duration) replaces the agreements' schedules,
// for tests and benchmarks that cannot wait the minute a schedule takes
// at least; SETU_SYNC_PAGE sets the objects per page; SETU_PPROF (a
// loopback address) serves the Go runtime profiles there while it runs.
func startSync(ctx context.Context, e *env, db nodeDB, ts *taxiiserver.Server, metrics *httpserver.Metrics,
	pol policy.Config, auditLog *audit.Logger, log *slog.Logger, wg *sync.WaitGroup) {
	if v := e.getenv("SETU_PPROF"); v != "" {
		startProfiles(ctx, v, log, wg)
	}
	sdb, ok := db.(syncDB)
	if !ok {
		return
	}
	node, err := loadNode(ctx, sdb)
	if errors.Is(err, federation.ErrNoIdentity) {
		log.Info("federation off: the node has no identity (setu node init)")
		return
	}
	if err != nil {
		log.Error("federation off: loading the node identity", "err", err)
		return
	}
	cfg := federation.SyncConfig{DB: sdb, Node: node, Policy: pol, Audit: auditLog, Log: log}
	if v := e.getenv("SETU_SYNC_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			cfg.Interval = d
		} else {
			log.Warn("SETU_SYNC_INTERVAL ignored: not a positive duration", "value", v)
		}
	}
	if v := e.getenv("SETU_SYNC_PAGE"); v != "" {
		var n int
		for _, c := range v {
			if c < '0' || c > '9' || n > 1e6 {
				n = 0
				break
			}
			n = n*10 + int(c-'0')
		}
		cfg.PageSize = n
	}
	eng, err := federation.NewEngine(cfg)
	if err != nil {
		log.Error("federation off", "err", err)
		return
	}
	ts.SetPeers(eng)
	metrics.AddCollector(func(w io.Writer) {
		ps, err := federation.Status(context.WithoutCancel(ctx), sdb, time.Now())
		if err != nil {
			log.Error("sync metrics", "err", err)
			return
		}
		federation.WriteMetrics(w, ps)
	})
	log.Info("federation sync running", "node", node.Name)
	wg.Add(1)
	go func() {
		defer wg.Done()
		eng.Run(ctx)
	}()
}

// startProfiles serves net/http/pprof on a loopback address until ctx
// ends: the profiles show internals, so they never listen beyond the host.
func startProfiles(ctx context.Context, addr string, log *slog.Logger, wg *sync.WaitGroup) {
	if !httpserver.IsLoopback(addr) {
		log.Warn("SETU_PPROF ignored: profiles are served on a loopback address only", "addr", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("SETU_PPROF ignored", "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("profiles served", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	wg.Add(2)
	go func() {
		defer wg.Done()
		srv.Serve(ln)
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		srv.Close()
	}()
}
