// Package archtest checks the layering rules of the design: which packages
// may import what, and that only the policy gate asks the store for
// audience-filtered reads, so no reader can skip the gate.
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/setu-cti/setu/"

// pkg is one package directory's non-test sources.
type pkg struct {
	path    string // import path relative to the module, e.g. "internal/stix"
	imports map[string][]string
	files   []*ast.File
	fset    *token.FileSet
}

func load(t *testing.T) []pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var out []pkg
	dirs := map[string]*pkg{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		k := dirs[rel]
		if k == nil {
			k = &pkg{path: rel, imports: map[string][]string{}, fset: token.NewFileSet()}
			dirs[rel] = k
		}
		f, err := parser.ParseFile(k.fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		full, err := parser.ParseFile(k.fset, p, nil, 0)
		if err != nil {
			return err
		}
		k.files = append(k.files, full)
		for _, im := range f.Imports {
			ip := strings.Trim(im.Path.Value, `"`)
			k.imports[ip] = append(k.imports[ip], filepath.Base(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range dirs {
		out = append(out, *k)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}

func internal(p string) string { return strings.TrimPrefix(p, module) }

func TestImportRules(t *testing.T) {
	domain := []string{"internal/stix", "internal/stix/pattern", "internal/match", "internal/policy",
		"internal/account", "internal/audit", "internal/ingest"}
	handlers := []string{"internal/taxiiserver", "internal/restapi", "internal/webui"}
	backends := []string{"internal/store/sqlite", "internal/store/postgres", "internal/store/postgres/pgtest"}
	sqlDrivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "database/sql"}
	for _, p := range load(t) {
		for ip, files := range p.imports {
			in := internal(ip)
			fail := func(rule string) { t.Errorf("%s imports %s (%v): %s", p.path, ip, files, rule) }
			if slices.Contains(domain, p.path) {
				if ip == "database/sql" || ip == "net/http" {
					fail("domain packages use neither database/sql nor net/http")
				}
				if slices.Contains(backends, in) {
					fail("domain packages do not import a storage backend")
				}
			}
			if !slices.Contains(backends, p.path) && slices.ContainsFunc(sqlDrivers, func(d string) bool { return strings.HasPrefix(ip, d) }) {
				fail("only the storage backends import SQL drivers")
			}
			if p.path == "internal/taxii" && (in == "internal/store" || in == "internal/policy" || in == "internal/taxiiserver") {
				fail("the TAXII wire package and client know nothing of storage, policy or the server")
			}
			if slices.Contains(handlers, p.path) && slices.Contains(handlers, in) && in != p.path {
				fail("handler packages never import each other; they meet in httpserver")
			}
		}
	}
}

// TestOnlyPolicyFiltersByAudience checks that no package but policy (and
// the storage layer and its conformance suite) names store.Query's
// ReaderKeys: every reader's page goes through policy.Gate.
func TestOnlyPolicyFiltersByAudience(t *testing.T) {
	allowed := []string{"internal/policy", "internal/store", "internal/store/sqlite", "internal/store/postgres",
		"internal/store/storetest"}
	for _, p := range load(t) {
		if slices.Contains(allowed, p.path) {
			continue
		}
		for _, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && id.Name == "ReaderKeys" {
					t.Errorf("%s: %s uses Query.ReaderKeys; only policy.Gate may", p.path, p.fset.Position(id.Pos()))
				}
				return true
			})
		}
	}
}
