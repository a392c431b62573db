package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/restapi"
	"github.com/setu-cti/setu/internal/taxiiserver"
)

func init() {
	register("serve", "run the node's server (TAXII 2.1 over HTTPS)", runServe)
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "[--data DIR] [--addr HOST:PORT] [--db DSN] [--migrate] [--tls-cert FILE --tls-key FILE] [--insecure-http]")
	var sf storeFlags
	sf.register(fs, e)
	addr := fs.String("addr", envOr(e, "SETU_ADDR", "127.0.0.1:8443"), "listen `address`")
	migrate := fs.Bool("migrate", false, "apply pending schema migrations to an existing database")
	certFile := fs.String("tls-cert", "", "TLS certificate `file` (PEM); default: the node's self-signed certificate")
	keyFile := fs.String("tls-key", "", "TLS private key `file` (PEM)")
	insecure := fs.Bool("insecure-http", false, "serve plain HTTP (only allowed on a loopback address)")
	country := fs.String("country", envOr(e, "SETU_COUNTRY", "ZZ"), "the node's ISO 3166-1 alpha-2 country `code` (used when first initialised)")
	maxBody := fs.Int64("max-content-length", 64<<20, "largest TAXII POST body in `bytes`")
	completeWithin := fs.Duration("complete-within", 2*time.Second, "how long a TAXII POST waits for its objects to be decided, to answer complete rather than pending (`duration`; 0 or less: never waits)")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	matching := fs.Bool("match", envOr(e, "SETU_MATCH", "true") != "false", "keep the indicator index for POST /manage/v1/match (memory grows with the indicators; false for a node that only stores and relays)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var log *slog.Logger
	if *logJSON {
		log = slog.New(slog.NewJSONHandler(e.stderr, nil))
	} else {
		log = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if *insecure && !httpserver.IsLoopback(*addr) {
		errorf(e, "--insecure-http is only allowed on a loopback address, not %s", *addr)
		return 2
	}

	st, desc, err := sf.open(ctx, *migrate)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	db, ok := st.(nodeDB)
	if !ok {
		errorf(e, "this store cannot run a node")
		return 1
	}
	cur, _, err := db.SchemaVersion(ctx)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	// The listener comes first: a node that cannot bind its address
	// stops before it creates anything, in particular the admin token,
	// which is printed once the node is about to serve.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer ln.Close()
	if *country == "ZZ" {
		// Not given: the country of the node's federation identity, if it
		// has one, is the operators' organisation's.
		if fdb, ok := db.(fedDB); ok {
			if ni, err := fdb.NodeInfo(ctx); err == nil && ni.Country != "" {
				*country = ni.Country
			}
		}
	}
	boot, err := bootstrap(ctx, db, *country, e.getenv("SETU_ADMIN_TOKEN"), time.Now().UTC())
	if err != nil {
		errorf(e, "initialising the node: %v", err)
		return 1
	}
	// Nodes made before the markings collection existed get it now, and
	// every node lists the definitions it derives there.
	if err := ensureMarkings(ctx, db); err != nil {
		errorf(e, "listing the node's marking definitions: %v", err)
		return 1
	}

	metrics := httpserver.NewMetrics()
	auditLog := audit.NewLogger(db, audit.LoggerOptions{Timeout: 30 * time.Second})
	defer auditLog.Close()
	nodeOrg, err := db.Org(ctx, account.NodeOrg)
	if err != nil {
		errorf(e, "the node operators' organisation: %v", err)
		return 1
	}
	nodeIdentity := nodeOrg.IdentityID()
	pol, err := policy.LoadConfig(ctx, db)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	ts, err := taxiiserver.New(ctx, taxiiserver.Config{
		DB: db, Ingest: ingest.New(db, 0, ingest.WithPolicy(pol), ingest.WithGroups(db), ingest.WithPatterns(match.DefaultWarninglist()),
			ingest.WithNodeIdentity(nodeIdentity)), Log: log, MaxContentLength: *maxBody,
		Instance: instanceName(), Audit: auditLog, Policy: pol, CompleteWithin: postWait(*completeWithin),
	})
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	ts.SetMetrics(metrics)

	// The indicator index is derived: built from the store at start and
	// kept current by following the change log.
	var eng *detect.Engine
	if *matching {
		eng = detect.New(db, pol, detect.WithWarninglist(match.DefaultWarninglist()))
	}

	srv := &http.Server{
		Handler: httpserver.New(httpserver.Config{Store: db, TAXII: ts, Log: log, Metrics: metrics,
			Manage: restapi.New(restapi.Config{DB: db, Log: log, Audit: auditLog, Detect: eng, Policy: pol, NodeIdentity: nodeIdentity})}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if !*insecure {
		cert, fp, err := httpserver.NodeCertificate(ctx, db, *certFile, *keyFile, time.Now())
		if err != nil {
			errorf(e, "%v", err)
			return 1
		}
		srv.TLSConfig = httpserver.TLSConfig(cert)
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
		fmt.Fprintf(e.stdout, "TLS certificate SHA-256 fingerprint: %s\n", fp)
	}
	if boot.secret != "" {
		fmt.Fprintf(e.stdout, "admin user: %s\n", adminUser)
		fmt.Fprintf(e.stdout, "admin token (shown only once): %s\n", boot.secret)
		fmt.Fprintf(e.stdout, "(lost it? `setu token create %s` issues another; `setu token revoke` retires this one)\n", adminUser)
	}
	log.Info("setu serving", "addr", ln.Addr().String(), "store", desc, "schema", cur)
	// Tests and scripts read the bound address from this line.
	fmt.Fprintf(e.stdout, "listening on %s://%s\n", scheme, ln.Addr())

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); ts.Run(workCtx) }()
	startSync(workCtx, e, db, ts, metrics, pol, auditLog, log, &wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if eng == nil {
			return
		}
		bad := func(id string, err error) { log.Debug("indicator not evaluable", "id", id, "err", err) }
		if err := eng.Load(workCtx, bad); err != nil {
			if workCtx.Err() == nil {
				log.Error("loading the indicator index", "err", err)
			}
			return
		}
		st := eng.Stats()
		log.Info("indicator index loaded", "indicators", st.Indicators, "not_evaluable", st.NotEvaluable, "other_pattern_types", st.OtherTypes, "applied", st.Applied)
		for {
			err := eng.Follow(workCtx, 2*time.Second, bad)
			if workCtx.Err() != nil {
				return
			}
			log.Error("following the change log for the indicator index; retrying", "err", err)
			select {
			case <-workCtx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	code := 0
	select {
	case err := <-errc:
		errorf(e, "%v", err)
		code = 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Stop taking requests and let those in flight finish; accepted POSTs are
	// already durable as jobs, so the worker may stop mid-job: the next start
	// (or another instance) takes the job over when its lease expires.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errorf(e, "shutdown: %v", err)
		code = 1
	}
	stopWork()
	wg.Wait()
	return code
}

// postWait is --complete-within as taxiiserver.Config takes it: 0 or less
// never waits.
func postWait(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func instanceName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

func envOr(e *env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}
