package restapi_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// routes returns "METHOD /path" for every route restapi.New registers,
// read from its source: each m.HandleFunc("METHOD "+Prefix+"path", ...).
func routes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "restapi.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "HandleFunc" {
			return true
		}
		var parts []string
		var walk func(e ast.Expr)
		walk = func(e ast.Expr) {
			switch x := e.(type) {
			case *ast.BinaryExpr:
				walk(x.X)
				walk(x.Y)
			case *ast.BasicLit:
				s, _ := strconv.Unquote(x.Value)
				parts = append(parts, s)
			case *ast.Ident:
				parts = append(parts, "/") // Prefix
			}
		}
		walk(call.Args[0])
		pattern := strings.Join(parts, "")
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			return true // the catch-all
		}
		out = append(out, method+" "+path)
		return true
	})
	sort.Strings(out)
	return out
}

// TestOpenAPI: the document is OpenAPI 3.1, describes exactly the routes
// the API registers, each with an operation id and responses, and is
// served at /manage/v1/openapi.json without credentials.
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	ids := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, o := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			id, _ := o["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			if rs, _ := o["responses"].(map[string]any); len(rs) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") && !slices.ContainsFunc(params(o), func(p string) bool { return "{"+p+"}" == seg }) {
					t.Errorf("%s %s: path parameter %s undescribed", method, path, seg)
				}
			}
		}
	}
	sort.Strings(documented)
	if diff := cmp.Diff(routes(t), documented); diff != "" {
		t.Errorf("routes (-registered +documented):\n%s", diff)
	}

	w := newWorld(t)
	r := w.do(call{method: "GET", path: "openapi.json"})
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || string(r.body) != string(b) {
		t.Errorf("GET openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func params(o map[string]any) []string {
	ps, _ := o["parameters"].([]any)
	var out []string
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok && m["in"] == "path" {
			out = append(out, m["name"].(string))
		}
	}
	return out
}

// TestOpenAPISchemas: each schema of the document names exactly the JSON
// members of the type the API encodes or decodes, read from the source
// (Error, written as a map in one place, aside), so
// a member added to the API cannot be missing from a document whose
// schemas allow no other properties.
func TestOpenAPISchemas(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	types := jsonMembers(t, "handlers.go", "group.go", "marking.go", "match.go")
	for schema, typ := range map[string]string{
		"Org": "orgJSON", "User": "userJSON", "Token": "tokenJSON",
		"Collection": "collectionJSON", "Grant": "grantJSON", "Group": "groupJSON",
		"Marking": "markingJSON", "MarkingRequest": "markingRequest", "ImportNote": "importNote",
		"ImportResult": "importAnswer", "MatchResult": "matchResponse",
	} {
		t.Run(schema, func(t *testing.T) {
			s, ok := doc.Components.Schemas[schema]
			if !ok {
				t.Fatalf("no schema %s", schema)
			}
			var documented []string
			for name := range s.Properties {
				documented = append(documented, name)
			}
			sort.Strings(documented)
			if diff := cmp.Diff(types[typ], documented); diff != "" {
				t.Errorf("%s members (-%s +documented):\n%s", schema, typ, diff)
			}
		})
	}
}

// jsonMembers returns, for each struct type declared in files, the sorted
// JSON member names its json tags give.
func jsonMembers(t *testing.T, files ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			var names []string
			for _, fld := range st.Fields.List {
				if fld.Tag == nil {
					continue
				}
				tag, _ := strconv.Unquote(fld.Tag.Value)
				name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
				if name != "" && name != "-" {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			out[ts.Name.Name] = names
			return true
		})
	}
	return out
}
