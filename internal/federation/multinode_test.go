package federation_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
	"github.com/setu-cti/setu/internal/taxii"
)

// setuBin is the setu binary the multi-node tests run, built once.
var setuBin string

func TestMain(m *testing.M) {
	// SETU_TEST_BIN runs a binary built elsewhere (with -race, say).
	if setuBin = os.Getenv("SETU_TEST_BIN"); setuBin != "" {
		os.Exit(m.Run())
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "setu-multinode-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		setuBin = filepath.Join(dir, "setu")
		cmd := exec.Command("go", "build", "-o", setuBin, "github.com/setu-cti/setu/cmd/setu")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building setu:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// node is one `setu serve` process with its own data directory and
// database.
type node struct {
	t       *testing.T
	name    string
	country string
	dir     string
	addr    string // host:port it listens on, kept across restarts
	fp      string // certificate SHA-256
	key     string // signing key, base64
	token   string // the admin token printed at first start

	mu     sync.Mutex
	cmd    *exec.Cmd
	log    bytes.Buffer
	exited chan struct{}
}

// newNode initialises a node's identity; it is not started.
func newNode(t *testing.T, name, country string) *node {
	t.Helper()
	n := &node{t: t, name: name, country: country, dir: t.TempDir()}
	n.run("node", "init", "--name", name, "--country", country)
	out := n.run("node", "show")
	n.fp = field(t, out, "certificate SHA-256:")
	n.key = field(t, out, "signing key:")
	for _, c := range []string{"shared"} {
		n.run("collection", "add", c)
	}
	t.Cleanup(n.stop)
	return n
}

func field(t *testing.T, out, label string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in:\n%s", label, out)
	return ""
}

func (n *node) env() []string {
	return append(os.Environ(), "SETU_DATA="+n.dir, "SETU_SYNC_INTERVAL=150ms", "SETU_DB=")
}

// run runs a setu command against the node's data directory and returns
// its standard output; it fails the test if the command fails.
func (n *node) run(args ...string) string {
	n.t.Helper()
	out, err := n.try(args...)
	if err != nil {
		n.t.Fatalf("%s: setu %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return out
}

func (n *node) try(args ...string) (string, error) {
	cmd := exec.Command(setuBin, args...)
	cmd.Env = n.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

var listenRE = regexp.MustCompile(`listening on https://(\S+)`)

// start starts `setu serve` (on the address of the last run, if any) and
// waits for it to listen.
func (n *node) start() {
	n.t.Helper()
	addr := n.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cmd := exec.Command(setuBin, "serve", "--addr", addr)
	cmd.Env = n.env()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	n.mu.Lock()
	cmd.Stderr = &lockedWriter{mu: &n.mu, w: &n.log}
	n.mu.Unlock()
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	exited := make(chan struct{})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				listening <- m[1]
			}
			if v, ok := strings.CutPrefix(line, "admin token (shown only once): "); ok {
				n.mu.Lock()
				n.token = v
				n.mu.Unlock()
			}
		}
	}()
	go func() { cmd.Wait(); close(exited) }()
	select {
	case a := <-listening:
		n.addr = a
	case <-exited:
		n.t.Fatalf("%s: serve exited:\n%s", n.name, n.logs())
	case <-time.After(60 * time.Second):
		n.t.Fatalf("%s: serve did not listen:\n%s", n.name, n.logs())
	}
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (n *node) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// stop ends the process gracefully (SIGTERM) and waits for it.
func (n *node) stop() { n.signal(syscall.SIGTERM) }

// kill ends the process with SIGKILL, as a crash would.
func (n *node) kill() { n.signal(syscall.SIGKILL) }

func (n *node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	if l := n.logs(); strings.Contains(l, "WARNING: DATA RACE") || strings.Contains(l, "panic:") {
		n.t.Errorf("%s:\n%s", n.name, tail(l, 20000))
	}
}

func (n *node) url() string { return "https://" + n.addr + "/api/" }

// peer registers other as a peer of n (its certificate and key).
func (n *node) peer(other *node) {
	n.t.Helper()
	n.run("peer", "add", other.name, "--url", other.url(), "--fingerprint", other.fp, "--signing-key", other.key, "--country", other.country)
}

// agreement writes and applies n's agreement with peer.
func (n *node) agreement(peer string, version int, outbound []string, inbound, mode string, extra string) {
	n.t.Helper()
	out := `"` + strings.Join(outbound, `","`) + `"`
	if len(outbound) == 0 {
		out = ""
	}
	in := ""
	if inbound != "" {
		in = `, "inbound": "` + inbound + `"`
		if _, err := n.try("collection", "add", inbound); err != nil {
			// Already there from an earlier version of the agreement.
			_ = err
		}
	}
	doc := fmt.Sprintf(`{"peer": %q, "version": %d, "direction": {"outbound": [%s]%s},
		"max_tlp": "amber", "distribution": ["partners", "nodes", "public"],
		"anonymise_submitters": true, "mode": %q, "schedule": "1m"%s}`, peer, version, out, in, mode, extra)
	f := filepath.Join(n.t.TempDir(), "agreement.json")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		n.t.Fatal(err)
	}
	n.run("agreement", "apply", f)
}

// importObjects stores objects in a collection of n through the CLI.
func (n *node) importObjects(coll string, objs []string) {
	n.t.Helper()
	f := filepath.Join(n.t.TempDir(), "objects.json")
	if err := os.WriteFile(f, []byte("["+strings.Join(objs, ",\n")+"]"), 0o600); err != nil {
		n.t.Fatal(err)
	}
	n.run("import", "-q", "--collection", coll, f)
}

// openStore opens the node's database alongside the running server.
func (n *node) openStore() *sqlite.DB {
	n.t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(n.dir, "setu.db"), store.Options{})
	if err != nil {
		n.t.Fatal(err)
	}
	return db
}

// versions lists the versions stored in a collection of n (id@modified,
// with the body), in collection order.
func (n *node) versions(coll string) []store.Version {
	n.t.Helper()
	db := n.openStore()
	defer db.Close()
	ctx := context.Background()
	c, err := db.Collection(ctx, coll)
	if err != nil {
		return nil
	}
	var out []store.Version
	q := store.Query{Collection: c.ID, Versions: store.VersionFilter{All: true}, Limit: 5000}
	for {
		pg, err := db.Query(ctx, q)
		if err != nil {
			n.t.Fatal(err)
		}
		out = append(out, pg.Versions...)
		if !pg.More {
			return out
		}
		q.After = pg.Last
	}
}

// count is the number of collection rows in coll.
func (n *node) count(coll string) int {
	n.t.Helper()
	db := n.openStore()
	defer db.Close()
	ctx := context.Background()
	c, err := db.Collection(ctx, coll)
	if err != nil {
		return 0
	}
	total := 0
	q := store.Query{Collection: c.ID, Versions: store.VersionFilter{All: true}, Limit: 10000, NoBody: true}
	for {
		pg, err := db.Query(ctx, q)
		if err != nil {
			n.t.Fatal(err)
		}
		total += len(pg.Versions)
		if !pg.More {
			return total
		}
		q.After = pg.Last
	}
}

// moved is the number of objects n's cursors for peer in direction dir
// have moved: a cheap observable for large syncs.
func (n *node) moved(peer, dir string) int64 {
	n.t.Helper()
	db := n.openStore()
	defer db.Close()
	cs, err := db.SyncCursors(context.Background(), peer)
	if err != nil {
		n.t.Fatal(err)
	}
	var total int64
	for _, c := range cs {
		if c.Direction == dir {
			total += c.Objects
		}
	}
	return total
}

// counts returns n's sync counters for peer.
func (n *node) counts(peer string) map[string]int64 {
	n.t.Helper()
	db := n.openStore()
	defer db.Close()
	m, err := db.SyncCounts(context.Background(), peer)
	if err != nil {
		n.t.Fatal(err)
	}
	return m[peer]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, n := range nodes {
				t.Logf("%s log:\n%s", n.name, tail(n.logs(), 4000))
				out, _ := n.try("peer", "status")
				t.Logf("%s peer status:\n%s", n.name, out)
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// indicator returns an indicator with the given markings, version and
// optional extra members.
func indicator(id string, modified time.Time, markings []string, extra string) string {
	refs := ""
	if len(markings) > 0 {
		refs = `, "object_marking_refs": ["` + strings.Join(markings, `","`) + `"]`
	}
	m := modified.UTC().Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf(`{"type": "indicator", "spec_version": "2.1", "id": %q, "created": "2026-01-01T00:00:00.000Z", "modified": %q,
		"name": "test indicator", "pattern": "[ipv4-addr:value = '198.51.100.%d']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"%s%s}`,
		id, m, len(id)%250, refs, extra)
}

func newID() string { return "indicator--" + uuid.NewString() }

var day0 = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// ids returns the ids of versions as a set with their multiplicity.
func ids(vs []store.Version) map[string]int {
	m := map[string]int{}
	for _, v := range vs {
		m[v.ID+"@"+v.VersionTime.Format(time.RFC3339Nano)]++
	}
	return m
}

// insecureClient talks to a node as a user (no client certificate).
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func userClient(t *testing.T, n *node, token string) *taxii.Client {
	t.Helper()
	cl, err := taxii.NewClient("https://"+n.addr+"/", taxii.WithHTTPClient(insecureClient()), taxii.WithBearerToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// collectionID is the id of the collection with alias among those cl may
// see in the node's API root; "" if it sees none.
func collectionID(t *testing.T, cl *taxii.Client, alias string) string {
	t.Helper()
	cols, err := cl.Collections(context.Background(), "/api/")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols.Collections {
		if c.Alias == alias {
			return c.ID
		}
	}
	return ""
}
