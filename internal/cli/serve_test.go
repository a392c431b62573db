package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/setu-cti/setu/internal/store/postgres/pgtest"
	"github.com/setu-cti/setu/internal/taxii"
)

// node is a `setu serve` running in-process.
type node struct {
	url         string // scheme://host:port
	fingerprint string // TLS certificate SHA-256, colon-separated, when TLS
	adminToken  string // printed on first start
	adminUser   string // printed with it
	stderr      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `setu serve args...` until the test ends, returning once it
// listens (read from its standard output, not waited for by time).
func startServe(t *testing.T, args ...string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	n := &node{stderr: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), pw, n.stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, n.stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop after cancellation")
		}
	})
	br := bufio.NewReader(pr)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("serve ended before listening: %v\n%s", err, n.stderr.String())
		}
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "admin user: "):
			n.adminUser = strings.TrimPrefix(line, "admin user: ")
		case strings.HasPrefix(line, "admin token (shown only once): "):
			n.adminToken = strings.TrimPrefix(line, "admin token (shown only once): ")
		case strings.HasPrefix(line, "TLS certificate SHA-256 fingerprint: "):
			n.fingerprint = strings.TrimPrefix(line, "TLS certificate SHA-256 fingerprint: ")
		case strings.HasPrefix(line, "listening on "):
			n.url = strings.TrimPrefix(line, "listening on ")
			go io.Copy(io.Discard, br)
			return n
		}
	}
}

// pinnedClient trusts exactly the node's certificate.
func (n *node) httpClient(t *testing.T) *http.Client {
	want := strings.ToLower(strings.ReplaceAll(n.fingerprint, ":", ""))
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if fmt.Sprintf("%x", sha256.Sum256(raw[0])) != want {
				return fmt.Errorf("certificate does not match the printed fingerprint")
			}
			return nil
		},
	}}, Timeout: 30 * time.Second}
}

func TestServeTLSAndHealth(t *testing.T) {
	dir := t.TempDir()
	n := startServe(t, "--data", dir)
	if !strings.HasPrefix(n.url, "https://") || n.fingerprint == "" || !strings.HasPrefix(n.adminToken, "setu_") {
		t.Fatalf("first start printed url %q fingerprint %q token %q", n.url, n.fingerprint, n.adminToken)
	}
	hc := n.httpClient(t)
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := hc.Get(n.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("%s not served over TLS 1.2+", path)
		}
	}
	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(n.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
	// The admin token works on TAXII; the bootstrap made the default collections.
	c, err := taxii.NewClient(n.url, taxii.WithHTTPClient(hc), taxii.WithBearerToken(n.adminToken))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Collections(context.Background(), n.url+"/api/")
	if err != nil {
		t.Fatal(err)
	}
	var aliases []string
	for _, c := range cs.Collections {
		aliases = append(aliases, c.Alias)
	}
	if fmt.Sprint(aliases) != "[inbox shared markings]" {
		t.Errorf("collections %v", aliases)
	}
}

func TestServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	code, _, errs := run(t, "", "serve", "--data", t.TempDir(), "--insecure-http", "--addr", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errs, "loopback") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestServeAdminTokenFromEnvironment(t *testing.T) {
	t.Setenv("SETU_ADMIN_TOKEN", "an-operator-chosen-secret-for-automation")
	n := startServe(t, "--data", t.TempDir(), "--insecure-http")
	if n.adminToken != "" {
		t.Errorf("a token was printed although SETU_ADMIN_TOKEN was set")
	}
	req, _ := http.NewRequest("GET", n.url+"/manage/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer an-operator-chosen-secret-for-automation")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var who struct {
		User struct{ Name, Role string }
	}
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if resp.StatusCode != 200 || who.User.Name != "admin" || who.User.Role != "admin" {
		t.Errorf("whoami %d %+v", resp.StatusCode, who)
	}
}

// Two instances on one PostgreSQL database behave as one node.
func TestTwoInstancesOnePostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Setenv("SETU_ADMIN_TOKEN", "shared-admin-token-for-two-instances")
	a := startServe(t, "--db", dsn, "--insecure-http", "--data", t.TempDir())
	b := startServe(t, "--db", dsn, "--insecure-http", "--data", t.TempDir())
	ctx := context.Background()
	client := func(n *node) *taxii.Client {
		c, err := taxii.NewClient(n.url, taxii.WithBearerToken("shared-admin-token-for-two-instances"),
			taxii.WithPollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca, cb := client(a), client(b)
	cs, err := ca.Collections(ctx, a.url+"/api/")
	if err != nil {
		t.Fatal(err)
	}
	var shared string
	for _, c := range cs.Collections {
		if c.Alias == "shared" {
			shared = c.ID
		}
	}
	objs := make([]string, 30)
	for i := range objs {
		objs[i] = indicator(i, "2024-01-01T00:00:00.000Z")
	}
	st, err := ca.AddEnvelope(ctx, a.url+"/api/", shared, []byte(`{"objects":[`+strings.Join(objs, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The status created on A is read on B.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := cb.WaitStatus(wctx, b.url+"/api/", st.ID)
	if err != nil || done.SuccessCount != 30 {
		t.Fatalf("status on B: %+v, %v", done, err)
	}
	// Objects posted to A are served by B, and a next token from A works on B.
	env, _, err := ca.GetObjects(ctx, a.url+"/api/", shared, taxii.Filter{Limit: 10})
	if err != nil || !env.More || env.Next == "" {
		t.Fatalf("page on A: %+v, %v", env, err)
	}
	seen := len(env.Objects)
	for p, err := range cb.AllObjects(ctx, b.url+"/api/", shared, taxii.Filter{Limit: 10, Next: env.Next}) {
		if err != nil {
			t.Fatal(err)
		}
		seen += len(p.Envelope.Objects)
	}
	if seen != 30 {
		t.Errorf("paged %d objects across instances, want 30", seen)
	}
}

// TestAdminTokenAfterListen: a node that cannot bind its address creates no
// admin token, so the one printed by the first start that serves is the
// only one; it names the admin user, and a lost token is replaced with
// `setu token create admin`.
func TestAdminTokenAfterListen(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	code, out, errs := run(t, "", "serve", "--data", dir, "--addr", busy.Addr().String())
	if code != 1 || strings.Contains(out, "token") || !strings.Contains(errs, "address already in use") {
		t.Fatalf("serve on a busy address: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if _, tokens, _ := run(t, "", "token", "list", "admin", "--data", dir); strings.Contains(tokens, "bootstrap") {
		t.Errorf("a token was made by a start that did not serve:\n%s", tokens)
	}
	n := startServe(t, "--data", dir)
	if !strings.HasPrefix(n.adminToken, "setu_") || n.adminUser != "admin" {
		t.Fatalf("first start that serves printed token %q for user %q", n.adminToken, n.adminUser)
	}
	secret := strings.TrimSpace(mustRun(t, "token", "create", "admin", "--data", dir))
	c, err := taxii.NewClient(n.url, taxii.WithHTTPClient(n.httpClient(t)), taxii.WithBearerToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collections(context.Background(), n.url+"/api/"); err != nil {
		t.Errorf("a replacement admin token: %v", err)
	}
}

// TestServeCompleteWithin: by default a small POST is answered complete;
// with --complete-within 0 it is answered pending and completes later.
func TestServeCompleteWithin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, taxii.StatusComplete},
		{[]string{"--complete-within", "0"}, taxii.StatusPending},
	} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			n := startServe(t, append([]string{"--data", t.TempDir()}, tc.args...)...)
			c, err := taxii.NewClient(n.url, taxii.WithHTTPClient(n.httpClient(t)), taxii.WithBearerToken(n.adminToken),
				taxii.WithPollInterval(10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			cs, err := c.Collections(ctx, n.url+"/api/")
			if err != nil {
				t.Fatal(err)
			}
			var inbox string
			for _, col := range cs.Collections {
				if col.Alias == "inbox" {
					inbox = col.ID
				}
			}
			st, err := c.AddObjects(ctx, n.url+"/api/", inbox, jsontext.Value(indicator(1, "2024-01-01T00:00:00.000Z")))
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != tc.want {
				t.Errorf("answered %s, want %s", st.Status, tc.want)
			}
			if st, err = c.WaitStatus(ctx, n.url+"/api/", st.ID); err != nil || st.SuccessCount != 1 {
				t.Errorf("final status %+v %v", st, err)
			}
		})
	}
}
