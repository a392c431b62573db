package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// collectionID finds a collection's id on a running node through the
// management API.
func collectionID(t *testing.T, n *node, token, alias string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url+"/manage/v1/collections", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Collections []struct{ ID, Alias string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out.Collections {
		if c.Alias == alias {
			return c.ID
		}
	}
	t.Fatalf("no collection %q", alias)
	return ""
}

func TestTAXIIPushPull(t *testing.T) {
	const token = "push-pull-admin-token-0123456789"
	t.Setenv("SETU_ADMIN_TOKEN", token)
	n := startServe(t, "--data", t.TempDir(), "--insecure-http")
	shared := collectionID(t, n, token, "shared")
	root := n.url + "/api/"
	src := filepath.Join("testdata", "poisonivy.json")

	code, out, errs := run(t, "", "taxii", "push", root, "--collection", shared, "--token", token, "--batch", "40", src)
	if code != 0 || !strings.Contains(out, "pushed 155, refused 0") {
		t.Fatalf("push: exit %d %q %q", code, out, errs)
	}
	// Pushing again: every object is an exact duplicate, which TAXII counts
	// as a success.
	if code, out, errs = run(t, "", "taxii", "push", root, "--collection", shared, "--token", token, src); code != 0 || !strings.Contains(out, "pushed 155") {
		t.Fatalf("second push: exit %d %q %q", code, out, errs)
	}

	local := t.TempDir()
	code, out, errs = run(t, "", "taxii", "pull", root, "--collection", shared, "--token", token, "--limit", "50", "--data", local, "--into", "mirror")
	if code != 0 || !strings.Contains(out, "pulled 155 (new 155, duplicate 0)") || !strings.Contains(out, "resume with --added-after ") {
		t.Fatalf("pull: exit %d %q %q", code, out, errs)
	}
	// Resuming from the printed position pulls nothing new.
	after := strings.TrimSpace(out[strings.Index(out, "--added-after ")+len("--added-after "):])
	code, out, _ = run(t, "", "taxii", "pull", root, "--collection", shared, "--token", token, "--data", local, "--into", "mirror", "--added-after", after)
	if code != 0 || !strings.Contains(out, "pulled 0") {
		t.Errorf("incremental pull: exit %d %q", code, out)
	}
	// What was pulled is what was pushed.
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	_, exported, _ := run(t, "", "export", "--data", local, "--collection", "mirror")
	want, got := byID(objectsOf(t, string(raw))), byID(objectsOf(t, exported))
	if len(got) != len(want) {
		t.Fatalf("pulled %d objects, want %d", len(got), len(want))
	}
	for id, o := range want {
		if b1, b2 := mustJSON(t, o), mustJSON(t, got[id]); b1 != b2 {
			t.Errorf("%s differs after push and pull", id)
		}
	}

	t.Run("bad credentials", func(t *testing.T) {
		code, _, errs := run(t, "", "taxii", "pull", root, "--collection", shared, "--token", "wrong-token", "--data", t.TempDir())
		if code == 0 || !strings.Contains(errs, "401") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
	// The server's root, its discovery URL and its API root all reach the
	// same collection, named by id, alias or title.
	for _, tt := range []struct{ url, coll string }{
		{n.url + "/", "shared"},
		{n.url + "/taxii2/", "Shared"},
		{n.url, shared},
		{root, "shared"},
	} {
		code, out, errs := run(t, "", "taxii", "pull", tt.url, "--collection", tt.coll, "--token", token, "--data", t.TempDir())
		if code != 0 || !strings.Contains(out, "pulled 155 (new 155") {
			t.Errorf("pull %s --collection %s: exit %d %q %q", tt.url, tt.coll, code, out, errs)
		}
	}
	if code, out, errs := run(t, "", "taxii", "push", n.url+"/", "--collection", "shared", "--token", token, src); code != 0 || !strings.Contains(out, "pushed 155") {
		t.Errorf("push to the server's root by alias: exit %d %q %q", code, out, errs)
	}
	t.Run("errors name the URL", func(t *testing.T) {
		code, _, errs := run(t, "", "taxii", "pull", n.url+"/nowhere/", "--collection", "shared", "--token", token, "--data", t.TempDir())
		if code == 0 || !strings.Contains(errs, n.url+"/nowhere/") || !strings.Contains(errs, "404") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
		code, _, errs = run(t, "", "taxii", "push", n.url+"/", "--collection", "no-such", "--token", token, src)
		if code == 0 || !strings.Contains(errs, `"no-such"`) || !strings.Contains(errs, "alias shared") {
			t.Errorf("unknown collection: exit %d, stderr %q", code, errs)
		}
	})
	t.Run("missing collection flag", func(t *testing.T) {
		if code, _, _ := run(t, "", "taxii", "pull", root, "--data", t.TempDir()); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
