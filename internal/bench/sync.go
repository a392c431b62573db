package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/taxii"
)

// Sync targets.
const (
	targetSyncShare = 0.25 // initial sync rate / bare TAXII pull rate
	targetIdleBytes = 1024 // bytes on the wire per collection for an idle round
	syncInterval    = 250 * time.Millisecond
	idleWindow      = 10 * time.Second
)

// syncFigures measures federation sync between two real `setu serve`
// processes on this machine, each with its own data directory and SQLite
// database, over mutual TLS on loopback:
//
//   - the initial sync of N objects from IN to JP (egress on IN: policy
//     and agreement decision, provenance signing, the view; pull by JP:
//     provenance verification, agreement re-check, the write path), from
//     the agreements being applied until JP's cursor has every object, vs
//     a bare TAXII pull of the same objects from IN by an admin client
//     that decodes each page and stores nothing (at least 25%);
//   - an idle round when nothing changed: every byte both ways through a
//     TCP proxy between JP and IN (TLS records, HTTP headers and bodies),
//     per round and collection, rounds counted from IN's request log
//     (under 1 KB);
//   - maximum RSS of each node over the whole run (under 500 MB).
//
// The setu binary is SETU_BIN, else `setu` next to this program, else on
// PATH, else built with `go build` into the work directory.
func (r *runner) syncFigures(ctx context.Context) error {
	cfg := r.cfg
	n := cfg.N
	bin, err := setuBinary(ctx, cfg)
	if err != nil {
		return err
	}
	dir := filepath.Join(cfg.Dir, "sync")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	file := filepath.Join(cfg.Dir, "sync-indicators.ndjson")
	size, err := writeFile(file, Indicators{Seed: cfg.Seed, Size: objectSize}, n)
	if err != nil {
		return err
	}
	src := &benchNode{bin: bin, name: "IN", dir: filepath.Join(dir, "in")}
	dst := &benchNode{bin: bin, name: "JP", dir: filepath.Join(dir, "jp")}
	defer src.stop()
	defer dst.stop()
	for _, nd := range []*benchNode{src, dst} {
		if err := nd.setup(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	if _, err := src.run(ctx, "import", "-q", "--collection", "shared", file); err != nil {
		return err
	}
	r.printf("setup     setu import of %s objects (%s MB) into IN for the sync, unmeasured: %s", comma(n), comma(int(size/1e6)), secs(time.Since(start)))

	if err := src.start(ctx); err != nil {
		return err
	}
	// Baseline: a bare TAXII pull of the same objects from IN, decoded and
	// dropped.
	base, err := barePull(ctx, src, n)
	if err != nil {
		return err
	}
	baseRate := rate(n, base)
	r.printf("baseline  bare TAXII pull of %s objects from IN by an admin client, %s a page, decoded, nothing stored: %s = %s obj/s",
		comma(n), comma(pageSize), secs(base), comma(int(baseRate)))

	if err := dst.start(ctx); err != nil {
		return err
	}
	for _, pair := range [][2]*benchNode{{src, dst}, {dst, src}} {
		a, b := pair[0], pair[1]
		if _, err := a.run(ctx, "peer", "add", b.name, "--url", "https://"+b.addr+"/api/", "--fingerprint", b.fp, "--signing-key", b.key); err != nil {
			return err
		}
	}
	jpDB, err := sqlite.Open(ctx, filepath.Join(dst.dir, "setu.db"), store.Options{})
	if err != nil {
		return err
	}
	defer jpDB.Close()
	start = time.Now()
	if err := src.agreement(ctx, "JP", `"outbound": ["shared"]`); err != nil {
		return err
	}
	if err := dst.agreement(ctx, "IN", `"inbound": "from-IN"`); err != nil {
		return err
	}
	received := func() (int64, error) {
		cs, err := jpDB.SyncCursors(ctx, "IN")
		var total int64
		for _, c := range cs {
			if c.Direction == store.SyncIn {
				total += c.Objects
			}
		}
		return total, err
	}
	for {
		got, err := received()
		if err != nil {
			return err
		}
		if got >= int64(n) {
			break
		}
		if err := src.alive(); err != nil {
			return err
		}
		if err := dst.alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	syncRate := rate(n, elapsed)
	r.figure(true, syncRate >= targetSyncShare*baseRate,
		"sync      initial sync of %s objects IN -> JP (egress, signed provenance, pull, verification, ingest): %s = %s obj/s = %.1f%% of baseline (target >= %.0f%%)",
		comma(n), secs(elapsed), comma(int(syncRate)), 100*syncRate/baseRate, 100*targetSyncShare)

	// An idle round: JP now reaches IN through a counting proxy.
	px, err := newCountingProxy(src.addr)
	if err != nil {
		return err
	}
	defer px.close()
	p, err := jpDB.Peer(ctx, "IN")
	if err != nil {
		return err
	}
	p.URL = "https://" + px.addr() + "/api/"
	if err := jpDB.UpdatePeer(ctx, p); err != nil {
		return err
	}
	// The first rounds through the proxy open the connection and list the
	// collections again; the window starts once objects requests flow.
	before := src.requests()
	deadline := time.Now().Add(30 * time.Second)
	for src.requests() < before+3 {
		if time.Now().After(deadline) {
			return errors.New("sync: JP made no request through the proxy")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b0, q0 := px.bytes(), src.requests()
	time.Sleep(idleWindow)
	b1, q1 := px.bytes(), src.requests()
	rounds := q1 - q0
	if rounds == 0 {
		return errors.New("sync: no idle round in the window")
	}
	perRound := float64(b1-b0) / float64(rounds)
	r.figure(true, perRound < targetIdleBytes,
		"sync      idle round with nothing changed, 1 collection: %.0f bytes on the wire per round (%d rounds in %s, TLS records both ways) (target < %d bytes)",
		perRound, rounds, secs(idleWindow), targetIdleBytes)

	rssIN, rssJP := src.stop(), dst.stop()
	r.figure(true, rssIN > 0 && rssIN < targetMaxRSS, "memory    sync source node IN over the run: max RSS %s MB (target < %s MB)", mb(rssIN), mb(targetMaxRSS))
	r.figure(true, rssJP > 0 && rssJP < targetMaxRSS, "memory    sync receiving node JP over the run: max RSS %s MB (target < %s MB)", mb(rssJP), mb(targetMaxRSS))
	return nil
}

// setuBinary finds or builds the setu command.
func setuBinary(ctx context.Context, cfg Config) (string, error) {
	if p := os.Getenv("SETU_BIN"); p != "" {
		return p, nil
	}
	if cfg.Exe != "" {
		if p := filepath.Join(filepath.Dir(cfg.Exe), "setu"); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("setu"); err == nil {
		return p, nil
	}
	out := filepath.Join(cfg.Dir, "setu")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/setu-cti/setu/cmd/setu")
	cmd.Stdout, cmd.Stderr = cfg.Stderr, cfg.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building setu for the sync phase (or set SETU_BIN): %w", err)
	}
	return out, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// benchNode is one `setu serve` process of the sync phase.
type benchNode struct {
	bin, name, dir string
	addr, fp, key  string
	token          string

	cmd    *exec.Cmd
	done   chan struct{}
	reqs   atomic.Int64 // objects requests by the peer, from the request log
	rss    int64
	exited error
	mu     sync.Mutex
}

func (n *benchNode) env() []string {
	return append(os.Environ(), "SETU_DATA="+n.dir, "SETU_DB=", "SETU_SYNC_INTERVAL="+syncInterval.String())
}

func (n *benchNode) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, n.bin, args...)
	cmd.Env = n.env()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: setu %s: %v: %s", n.name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (n *benchNode) setup(ctx context.Context) error {
	if _, err := n.run(ctx, "node", "init", "--name", n.name, "--country", n.name); err != nil {
		return err
	}
	out, err := n.run(ctx, "node", "show")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "certificate SHA-256:"); ok {
			n.fp = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "signing key:"); ok {
			n.key = strings.TrimSpace(v)
		}
	}
	for _, args := range [][]string{{"collection", "add", "shared"}, {"collection", "add", "from-" + map[string]string{"IN": "JP", "JP": "IN"}[n.name]},
		// The generated indicators carry no marking: GREEN by default lets
		// them cross under the agreement.
		{"policy", "default-tlp", "green"}} {
		if _, err := n.run(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func (n *benchNode) agreement(ctx context.Context, peer, direction string) error {
	doc := fmt.Sprintf(`{"peer": %q, "version": 1, "direction": {%s}, "max_tlp": "amber",
		"distribution": ["partners", "nodes", "public"], "anonymise_submitters": true, "mode": "pull", "schedule": "1m"}`, peer, direction)
	f := filepath.Join(n.dir, "agreement-"+peer+".json")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		return err
	}
	_, err := n.run(ctx, "agreement", "apply", f)
	return err
}

var (
	listenLine = regexp.MustCompile(`listening on https://(\S+)`)
	peerObjReq = regexp.MustCompile(`path=/api/collections/[^ ]+/objects/ .*user=peer:`)
)

func (n *benchNode) start(ctx context.Context) error {
	// The nodes keep no indicator index: its cost (time and memory per
	// indicator) is the detect phase's figure, and a relaying node may
	// run without it.
	cmd := exec.Command(n.bin, "serve", "--addr", "127.0.0.1:0", "--match=false")
	cmd.Env = n.env()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd, n.done = cmd, make(chan struct{})
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "admin token (shown only once): "); ok {
				n.mu.Lock()
				n.token = v
				n.mu.Unlock()
			}
			if m := listenLine.FindStringSubmatch(line); m != nil {
				n.mu.Lock()
				n.addr = m[1]
				n.mu.Unlock()
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if peerObjReq.MatchString(sc.Text()) {
				n.reqs.Add(1)
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.exited = fmt.Errorf("%s: serve exited: %v", n.name, err)
		n.rss = maxRSS(cmd.ProcessState)
		n.mu.Unlock()
		close(n.done)
	}()
	select {
	case <-ready:
		return nil
	case <-n.done:
		return n.alive()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("%s: serve did not start listening", n.name)
	}
}

func (n *benchNode) alive() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exited
}

func (n *benchNode) requests() int64 { return n.reqs.Load() }

// stop ends the process with SIGTERM and returns its maximum RSS.
func (n *benchNode) stop() int64 {
	if n.cmd == nil {
		return 0
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(time.Minute):
		n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rss
}

// barePull pulls IN's "shared" collection as its admin, decoding each
// page and storing nothing.
func barePull(ctx context.Context, src *benchNode, n int) (time.Duration, error) {
	src.mu.Lock()
	tok := src.token
	src.mu.Unlock()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	cl, err := taxii.NewClient("https://"+src.addr+"/", taxii.WithHTTPClient(hc), taxii.WithBearerToken(tok),
		taxii.WithMaxResponseBytes(256<<20))
	if err != nil {
		return 0, err
	}
	cols, err := cl.Collections(ctx, "/api/")
	if err != nil {
		return 0, err
	}
	id := ""
	for _, c := range cols.Collections {
		if c.Alias == "shared" {
			id = c.ID
		}
	}
	if id == "" {
		return 0, errors.New("sync baseline: IN has no collection shared")
	}
	start := time.Now()
	got := 0
	for pg, err := range cl.AllObjects(ctx, "/api/", id, taxii.Filter{Limit: pageSize, Versions: taxii.VersionMatch{All: true}}) {
		if err != nil {
			return 0, err
		}
		got += len(pg.Envelope.Objects)
	}
	if got != n {
		return 0, fmt.Errorf("sync baseline: pulled %d objects, want %d", got, n)
	}
	return time.Since(start), nil
}

// countingProxy forwards TCP connections to a target and counts every
// byte both ways.
type countingProxy struct {
	ln     net.Listener
	target string
	n      atomic.Int64
}

func newCountingProxy(target string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{ln: ln, target: target}
	go p.serve()
	return p, nil
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }
func (p *countingProxy) bytes() int64 { return p.n.Load() }
func (p *countingProxy) close() error { return p.ln.Close() }
func (p *countingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			t, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			defer t.Close()
			done := make(chan struct{}, 2)
			cp := func(dst, src net.Conn) {
				// Counted as it flows: connections stay open across rounds.
				io.Copy(countingWriter{dst, &p.n}, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go cp(t, c)
			go cp(c, t)
			<-done
			<-done
		}()
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
