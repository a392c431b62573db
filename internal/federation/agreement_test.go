package federation_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// baseDoc is a valid agreement as a generic value, for tests to edit.
func baseDoc() map[string]any {
	return map[string]any{
		"peer":                 "JP-CERT",
		"version":              3,
		"direction":            map[string]any{"outbound": []any{"shared"}, "inbound": "from-jp"},
		"max_tlp":              "amber",
		"distribution":         []any{"group", "partners", "nodes", "public"},
		"groups":               []any{"g-telecom"},
		"sectors":              []any{"energy", "telecommunications"},
		"anonymise_submitters": true,
		"never_release":        []any{"observed-data"},
		"residency":            []any{"IN"},
		"mode":                 "both",
		"schedule":             "5m",
	}
}

func docBytes(t testing.TB, edit func(m map[string]any)) []byte {
	t.Helper()
	m := baseDoc()
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, edit func(m map[string]any)) *federation.Agreement {
	t.Helper()
	a, err := federation.ParseAgreement(docBytes(t, edit))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseAgreementExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "agreement-in-jp.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := federation.ParseAgreement(data)
	if err != nil {
		t.Fatal(err)
	}
	if a.Peer != "JP-CERT" || a.Version != 1 || a.MaxTLP != stix.TLPLevelAmber || a.Mode != federation.ModeBoth ||
		a.Schedule != 5*time.Minute || a.Inbound != "from-jp" || !a.AnonymiseSubmitters {
		t.Errorf("example agreement read as %+v", a)
	}
	// The stored and the shown forms read back to the same content.
	for name, b := range map[string][]byte{"canonical": a.Canonical(), "indented": a.Indent()} {
		again, err := federation.ParseAgreement(b)
		if err != nil {
			t.Fatalf("%s form: %v", name, err)
		}
		if again.Hash() != a.Hash() {
			t.Errorf("%s form has another hash", name)
		}
	}
	rec := a.Record(t0)
	if rec.Peer != "JP-CERT" || rec.Version != 1 || rec.Hash != a.Hash() || string(rec.Body) != string(a.Canonical()) {
		t.Errorf("Record = %+v", rec)
	}
}

func TestParseAgreementErrors(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	for _, tt := range []struct {
		name string
		doc  []byte
		// each want is a path and a fragment of its message; all must appear
		want [][2]string
	}{
		{"unknown field", docBytes(t, set("bogus", 1)), [][2]string{{"$.bogus", "unknown field"}}},
		{"names are case-sensitive", docBytes(t, set("Peer", "x")), [][2]string{{"$.Peer", "unknown field"}}},
		{"unknown nested field", docBytes(t, set("direction", map[string]any{"outbound": []any{"a"}, "sideways": "b"})),
			[][2]string{{"$.direction.sideways", "unknown field"}}},
		{"duplicate name", []byte(`{"peer":"JP-CERT","peer":"KR-CERT"}`), [][2]string{{"$.peer", "duplicate name"}}},
		{"duplicate nested name", []byte(`{"direction":{"inbound":"a","inbound":"b"}}`), [][2]string{{"$.direction.inbound", "duplicate name"}}},
		{"trailing data", append(docBytes(t, nil), " {}"...), [][2]string{{"$", "invalid JSON"}}},
		{"invalid UTF-8", []byte("{\"peer\":\"JP\xff\"}"), [][2]string{{"$.peer", "invalid JSON"}}},
		{"not an object", []byte(`[]`), [][2]string{{"$", "want an object"}}},

		{"peer missing", docBytes(t, del("peer")), [][2]string{{"$.peer", "required"}}},
		{"peer name", docBytes(t, set("peer", "JP CERT")), [][2]string{{"$.peer", "node name"}}},
		{"version missing", docBytes(t, del("version")), [][2]string{{"$.version", "required"}}},
		{"version zero", docBytes(t, set("version", 0)), [][2]string{{"$.version", "out of range"}}},
		{"version fraction", docBytes(t, set("version", 1.5)), [][2]string{{"$.version", "want an integer, got a number"}}},
		{"version string", docBytes(t, set("version", "2")), [][2]string{{"$.version", "want an integer, got a string"}}},
		{"version beyond 2^53", docBytes(t, set("version", int64(1)<<53)), [][2]string{{"$.version", "out of range"}}},
		{"version beyond int64", []byte(`{"version":99999999999999999999}`), [][2]string{{"$.version", "out of range"}}},
		{"version in exponent form", []byte(`{"version":1e3}`), [][2]string{{"$.version", "want an integer"}}},

		{"direction missing", docBytes(t, del("direction")), [][2]string{{"$.direction", "required"}}},
		{"direction empty", docBytes(t, set("direction", map[string]any{})), [][2]string{{"$.direction", "names no collection"}}},
		{"outbound twice", docBytes(t, set("direction", map[string]any{"outbound": []any{"a", "a"}})),
			[][2]string{{"$.direction.outbound[1]", "listed twice"}}},
		{"outbound empty name", docBytes(t, set("direction", map[string]any{"outbound": []any{""}, "inbound": "x"})),
			[][2]string{{"$.direction.outbound[0]", "empty"}}},
		{"outbound not a list", docBytes(t, set("direction", map[string]any{"outbound": "shared"})),
			[][2]string{{"$.direction.outbound", "want an array of strings, got a string"}}},

		{"max_tlp missing", docBytes(t, del("max_tlp")), [][2]string{{"$.max_tlp", "required"}}},
		{"max_tlp red", docBytes(t, set("max_tlp", "red")), [][2]string{{"$.max_tlp", "TLP:RED never leaves a node"}}},
		{"max_tlp unknown", docBytes(t, set("max_tlp", "white")), [][2]string{{"$.max_tlp", `"white" is not one of`}}},
		{"max_tlp upper case", docBytes(t, set("max_tlp", "AMBER")), [][2]string{{"$.max_tlp", "is not one of"}}},

		{"distribution missing", docBytes(t, del("distribution")), [][2]string{{"$.distribution", "required"}}},
		{"distribution empty", docBytes(t, set("distribution", []any{})), [][2]string{{"$.distribution", "nothing could cross"}}},
		{"distribution org", docBytes(t, set("distribution", []any{"org", "group"})),
			[][2]string{{"$.distribution[0]", "never leave their organisation"}}},
		{"distribution unknown", docBytes(t, set("distribution", []any{"group", "everyone"})),
			[][2]string{{"$.distribution[1]", "is not one of"}}},
		{"group scope without groups", docBytes(t, del("groups")), [][2]string{{"$.groups", `required when distribution lists "group"`}}},
		{"groups without group scope", docBytes(t, set("distribution", []any{"nodes"})), [][2]string{{"$.groups", "none would cross"}}},

		{"type name", docBytes(t, set("types", []any{"indicator", "Malware"})), [][2]string{{"$.types[1]", "not a STIX type name"}}},
		{"type with double hyphen", docBytes(t, set("types", []any{"x--y"})), [][2]string{{"$.types[0]", "not a STIX type name"}}},
		{"type withheld by default", docBytes(t, set("types", []any{"indicator", "note"})),
			[][2]string{{"$.types[1]", "list it in release_anyway"}}},
		{"type withheld by never_release", docBytes(t, set("types", []any{"observed-data"})),
			[][2]string{{"$.types[0]", "never released"}}},
		{"release_anyway a type not withheld", docBytes(t, set("release_anyway", []any{"indicator"})),
			[][2]string{{"$.release_anyway[0]", "nothing to release anyway"}}},
		{"release_anyway and never_release", docBytes(t, func(m map[string]any) {
			m["never_release"] = []any{"note"}
			m["release_anyway"] = []any{"note"}
		}), [][2]string{{"$.release_anyway[0]", "also listed in never_release"}}},
		{"sector name", docBytes(t, set("sectors", []any{"Energy"})), [][2]string{{"$.sectors[0]", "not a sector name"}}},
		{"anonymise_submitters missing", docBytes(t, del("anonymise_submitters")), [][2]string{{"$.anonymise_submitters", "required"}}},
		{"anonymise_submitters string", docBytes(t, set("anonymise_submitters", "yes")),
			[][2]string{{"$.anonymise_submitters", "want true or false, got a string"}}},
		{"residency code", docBytes(t, set("residency", []any{"IND"})), [][2]string{{"$.residency[0]", "ISO 3166-1"}}},
		{"mode missing", docBytes(t, del("mode")), [][2]string{{"$.mode", "required"}}},
		{"mode unknown", docBytes(t, set("mode", "sync")), [][2]string{{"$.mode", `"sync" is not one of`}}},
		{"schedule missing", docBytes(t, del("schedule")), [][2]string{{"$.schedule", "required"}}},
		{"schedule without unit", docBytes(t, set("schedule", "5")), [][2]string{{"$.schedule", "not an interval"}}},
		{"schedule too short", docBytes(t, set("schedule", "10s")), [][2]string{{"$.schedule", "outside 1m to 24h"}}},
		{"schedule too long", docBytes(t, set("schedule", "48h")), [][2]string{{"$.schedule", "outside"}}},
		{"schedule fraction of a second", docBytes(t, set("schedule", "90.5s")), [][2]string{{"$.schedule", "whole seconds"}}},

		{"several faults at once", docBytes(t, func(m map[string]any) {
			delete(m, "max_tlp")
			m["mode"] = "sync"
			m["residency"] = []any{"in"}
		}), [][2]string{{"$.max_tlp", "required"}, {"$.mode", "is not one of"}, {"$.residency[0]", "ISO 3166-1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := federation.ParseAgreement(tt.doc)
			if err == nil {
				t.Fatal("ParseAgreement succeeded")
			}
			var ae *federation.AgreementError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an AgreementError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w[0]+": ") || !strings.Contains(err.Error(), w[1]) {
					t.Errorf("error %q lacks %s: ...%s...", err, w[0], w[1])
				}
			}
		})
	}
}

func TestAgreementNormalised(t *testing.T) {
	base := parse(t, nil)
	same := []byte(`{
		"schedule": "300s", "mode": "both", "residency": ["IN"], "never_release": ["observed-data"],
		"anonymise_submitters": true, "sectors": ["telecommunications", "energy"],
		"groups": ["g-telecom"], "distribution": ["public", "nodes", "partners", "group"],
		"max_tlp": "amber", "direction": {"inbound": "from-jp", "outbound": ["shared"]},
		"version": 3, "peer": "JP-CERT"
	}`)
	a, err := federation.ParseAgreement(same)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != base.Hash() {
		t.Errorf("layout, member order and list order changed the content:\n%s\n%s", a.Canonical(), base.Canonical())
	}
	if changed := parse(t, func(m map[string]any) { m["max_tlp"] = "green" }); changed.Hash() == base.Hash() {
		t.Error("a changed term kept the hash")
	}
	if got, want := string(base.Canonical()), `"schedule":"5m"`; !strings.Contains(got, want) {
		t.Errorf("canonical form %s lacks %s", got, want)
	}
}

// catalog is an in-memory Catalog.
type catalog struct {
	peers       []string
	collections []string
	groups      map[string]string // id -> name
}

func (c catalog) Peer(_ context.Context, name string) (store.Peer, error) {
	for _, p := range c.peers {
		if p == name {
			return store.Peer{Name: p}, nil
		}
	}
	return store.Peer{}, store.ErrNotFound
}

func (c catalog) Collection(_ context.Context, id string) (store.Collection, error) {
	for _, col := range c.collections {
		if col == id {
			return store.Collection{ID: id, Alias: id}, nil
		}
	}
	return store.Collection{}, store.ErrNotFound
}

func (c catalog) Group(_ context.Context, idOrName string) (store.Group, error) {
	for id, name := range c.groups {
		if id == idOrName || name == idOrName {
			return store.Group{ID: id, Name: name}, nil
		}
	}
	return store.Group{}, store.ErrNotFound
}

func TestAgreementCheck(t *testing.T) {
	cat := catalog{peers: []string{"JP-CERT"}, collections: []string{"shared", "from-jp"},
		groups: map[string]string{"g-telecom": "IN-JP telecom operators"}}
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
		want []string
	}{
		{"all present", nil, nil},
		{"unknown peer", func(m map[string]any) { m["peer"] = "KR-CERT" }, []string{`$.peer: no peer named "KR-CERT"`}},
		{"unknown collections", func(m map[string]any) {
			m["direction"] = map[string]any{"outbound": []any{"shared", "nope"}, "inbound": "gone"}
		}, []string{`$.direction.outbound[1]: no collection "nope"`, `$.direction.inbound: no collection "gone"`}},
		{"unknown group", func(m map[string]any) { m["groups"] = []any{"g-telecom", "g-x"} }, []string{`$.groups[1]: no sharing group "g-x"`}},
		{"group by name", func(m map[string]any) { m["groups"] = []any{"IN-JP telecom operators"} },
			[]string{`$.groups[0]: "IN-JP telecom operators" is the name of sharing group "g-telecom"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := parse(t, tt.edit).Check(ctx, cat)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %v, want %q", err, w)
				}
			}
		})
	}
}

func TestReleases(t *testing.T) {
	green := policy.Facts{Submitter: "in-telco", TLP: stix.TLPLevelGreen}
	withFacts := func(f policy.Facts, edit func(*policy.Facts)) policy.Facts {
		edit(&f)
		return f
	}
	obj := func(typ string, f policy.Facts) federation.Object {
		return federation.Object{Type: typ, Facts: f, Sectors: []string{"energy"}}
	}
	// The sharing groups this node's registry lists the peer in.
	member := []string{"g-ci", "g-telecom"}
	for _, tt := range []struct {
		name  string
		edit  func(map[string]any) // of the agreement
		cfg   policy.Config
		obj   federation.Object
		allow bool
		rule  string // of a denial
	}{
		{"GREEN indicator reaches partners", nil, policy.Config{}, obj("indicator", green), true, ""},
		{"CLEAR without distribution is public", nil, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelClear}), true, ""},

		// The policy gate decides first, as the peer.
		{"no TLP reads as AMBER for the community only", nil, policy.Config{},
			obj("indicator", policy.Facts{}), false, "distribution-community"},
		{"the node's default TLP applies", nil, policy.Config{DefaultTLP: stix.TLPLevelGreen},
			obj("indicator", policy.Facts{}), true, ""},
		{"TLP:RED never leaves", func(m map[string]any) { m["max_tlp"] = "amber+strict" }, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelRed, Recipients: []string{"org:x"}}), false, "tlp-red"},
		{"AMBER+STRICT never crosses a border", func(m map[string]any) { m["max_tlp"] = "amber+strict" }, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelAmberStrict, Scopes: []policy.Scope{policy.ScopeNodes}}), false, "tlp-amber-strict"},
		{"community never crosses", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) { f.Scopes = []policy.Scope{policy.ScopeCommunity} })), false, "distribution-community"},
		{"partners go one hop only", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) { f.Via = "KR-CERT" })), false, "distribution-partners"},
		{"unknown marking", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) { f.Unknown = []string{"marking-definition--x"} })), false, "unknown-marking"},

		// max_tlp
		{"AMBER within max amber", nil, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelAmber, Scopes: []policy.Scope{policy.ScopeNodes}}), true, ""},
		{"AMBER beyond max green", func(m map[string]any) { m["max_tlp"] = "green" }, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelAmber, Scopes: []policy.Scope{policy.ScopeNodes}}), false, "agreement-tlp"},
		{"GREEN beyond max clear", func(m map[string]any) { m["max_tlp"] = "clear" }, policy.Config{},
			obj("indicator", green), false, "agreement-tlp"},
		{"a granular part beyond max green", func(m map[string]any) { m["max_tlp"] = "green" }, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Granular = []policy.Facts{{TLP: stix.TLPLevelAmber, Scopes: []policy.Scope{policy.ScopeNodes}}}
			})), false, "agreement-tlp"},

		// distribution and groups
		{"public not agreed", func(m map[string]any) { m["distribution"] = []any{"group", "partners", "nodes"} }, policy.Config{},
			obj("indicator", policy.Facts{TLP: stix.TLPLevelClear}), false, "agreement-distribution"},
		{"nodes not agreed", func(m map[string]any) { m["distribution"] = []any{"group", "partners"} }, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) { f.Scopes = []policy.Scope{policy.ScopeNodes} })), false, "agreement-distribution"},
		{"every scope must be agreed", func(m map[string]any) { m["distribution"] = []any{"group", "partners"} }, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Scopes = []policy.Scope{policy.ScopePartners, policy.ScopeNodes}
			})), false, "agreement-distribution"},
		{"agreed group", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Scopes, f.Groups = []policy.Scope{policy.ScopeGroup}, []string{"g-ci", "g-telecom"}
			})), true, ""},
		{"group not agreed", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Scopes, f.Groups = []policy.Scope{policy.ScopeGroup}, []string{"g-ci"}
			})), false, "agreement-group"},
		{"group the peer is not a member of", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Scopes, f.Groups = []policy.Scope{policy.ScopeGroup}, []string{"g-energy"}
			})), false, "distribution-group"},
		{"group scope not agreed", func(m map[string]any) {
			m["distribution"] = []any{"partners", "nodes", "public"}
			delete(m, "groups")
		}, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Scopes, f.Groups = []policy.Scope{policy.ScopeGroup}, []string{"g-telecom"}
			})), false, "agreement-distribution"},
		{"a granular part for a group not agreed", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Granular = []policy.Facts{{Scopes: []policy.Scope{policy.ScopeGroup}, Groups: []string{"g-ci"}}}
			})), false, "agreement-group"},
		{"a granular part for a group the peer is not a member of", nil, policy.Config{},
			obj("indicator", withFacts(green, func(f *policy.Facts) {
				f.Granular = []policy.Facts{{Scopes: []policy.Scope{policy.ScopeGroup}, Groups: []string{"g-energy"}}}
			})), false, "granular-marking"},

		// types and never_release
		{"withheld by default", nil, policy.Config{}, obj("user-account", green), false, "agreement-never-release"},
		{"every default is withheld", nil, policy.Config{}, obj("email-message", green), false, "agreement-never-release"},
		{"released anyway", func(m map[string]any) { m["release_anyway"] = []any{"user-account"} }, policy.Config{},
			obj("user-account", green), true, ""},
		{"withheld by the agreement", nil, policy.Config{}, obj("observed-data", green), false, "agreement-never-release"},
		{"type in the list", func(m map[string]any) { m["types"] = []any{"indicator", "malware"} }, policy.Config{},
			obj("malware", green), true, ""},
		{"type outside the list", func(m map[string]any) { m["types"] = []any{"indicator", "malware"} }, policy.Config{},
			obj("report", green), false, "agreement-type"},

		// sectors
		{"sector outside", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"finance"}}, false, "agreement-sector"},
		{"one of several sectors agreed", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"finance", "telecommunications"}}, true, ""},
		{"sectors unknown under a restriction", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green}, false, "agreement-sector"},
		{"sectors unknown without a restriction", func(m map[string]any) { delete(m, "sectors") }, policy.Config{},
			federation.Object{Type: "indicator", Facts: green}, true, ""},

		// anonymise_submitters (baseDoc: true)
		{"names its submitter", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"energy"}, Named: true}, false, "agreement-anonymise"},
		{"names its submitter, not anonymised", func(m map[string]any) { m["anonymise_submitters"] = false }, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"energy"}, Named: true}, true, ""},

		// residency
		{"resident in a country the agreement honours", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"energy"}, Residency: []string{"IN"}}, false, "agreement-residency"},
		{"resident elsewhere", nil, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"energy"}, Residency: []string{"JP"}}, true, ""},
		{"residency not honoured", func(m map[string]any) { delete(m, "residency") }, policy.Config{},
			federation.Object{Type: "indicator", Facts: green, Sectors: []string{"energy"}, Residency: []string{"IN"}}, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := parse(t, tt.edit)
			d := a.Releases(tt.cfg, "", member, tt.obj)
			if d.Allow != tt.allow || (!tt.allow && d.Rule != tt.rule) {
				t.Errorf("Releases = %+v; want allow %v, rule %q", d, tt.allow, tt.rule)
			}
			if d.Reason == "" {
				t.Error("no reason given")
			}
			if strings.HasPrefix(d.Rule, "agreement-") && !strings.Contains(d.Reason, "agreement with JP-CERT, version 3") {
				t.Errorf("reason %q does not name the agreement", d.Reason)
			}
		})
	}
}

// TestObjectOf: what an agreement reads of a stored version is fixed
// beside it: the submitter's sectors, and whether the body peers get names
// the submitter (recorded at ingest; for versions stored before it was,
// read from whether a released form exists).
func TestObjectOf(t *testing.T) {
	for _, tt := range []struct {
		name    string
		v       store.Version
		named   bool
		sectors []string
	}{
		{"named", store.Version{Submitter: "telco", Facts: policy.Facts{Attribution: policy.AttributionNamed, Sectors: []string{"energy"}}.Encode()}, true, []string{"energy"}},
		{"anonymous", store.Version{Submitter: "telco", Facts: policy.Facts{Attribution: policy.AttributionAnonymous}.Encode()}, false, nil},
		{"stored before attribution, as submitted", store.Version{Submitter: "telco", Facts: policy.Facts{}.Encode()}, true, nil},
		{"stored before attribution, anonymised", store.Version{Submitter: "telco", Facts: policy.Facts{}.Encode(), Released: []byte("{}")}, false, nil},
		{"the node's operators", store.Version{Submitter: "node", Facts: policy.Facts{}.Encode()}, false, nil},
		{"received from a partner", store.Version{Submitter: "node:JP", Facts: policy.Facts{Sectors: []string{"telecommunications"}}.Encode()}, false, []string{"telecommunications"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Type = "indicator"
			o := federation.ObjectOf(&tt.v)
			if o.Named != tt.named || !slices.Equal(o.Sectors, tt.sectors) {
				t.Errorf("ObjectOf = named %v, sectors %v; want %v, %v", o.Named, o.Sectors, tt.named, tt.sectors)
			}
		})
	}
}

func TestExportVerify(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "setu.db"))
	n, err := federation.Init(ctx, db, "IN-CERT", "IN", makeCert(t, p256(t), bothEKUs...), seed(1))
	if err != nil {
		t.Fatal(err)
	}
	a := parse(t, nil)
	signed, err := a.Export(n)
	if err != nil {
		t.Fatal(err)
	}
	doc, got, err := federation.ReadSigned(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != a.Hash() {
		t.Error("the exported agreement reads back with other content")
	}
	if doc.Signer.Node != "IN-CERT" || doc.Signer.Country != "IN" || doc.Signer.KeyFingerprint != n.KeyFingerprint().String() ||
		doc.Signer.CertSHA256 != n.CertFingerprint().String() {
		t.Errorf("signer %+v", doc.Signer)
	}
	if err := doc.Verify(n.PublicKey()); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	// edit re-encodes the signed document after changing it.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(signed, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.MarshalIndent(m, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherPub, otherPriv, _ := ed25519.GenerateKey(seed(7))
	for _, tt := range []struct {
		name    string
		doc     []byte
		key     ed25519.PublicKey
		wantErr error  // from Verify
		readErr string // from ReadSigned
	}{
		{"re-encoded with other layout", edit(func(map[string]any) {}), n.PublicKey(), nil, ""},
		{"a term changed", edit(func(m map[string]any) { m["agreement"].(map[string]any)["max_tlp"] = "amber+strict" }),
			n.PublicKey(), federation.ErrBadSignature, ""},
		{"version changed", edit(func(m map[string]any) { m["agreement"].(map[string]any)["version"] = 4 }),
			n.PublicKey(), federation.ErrBadSignature, ""},
		{"verified with another key", signed, otherPub, federation.ErrBadSignature, ""},
		{"re-signed by someone else under their key", edit(func(m map[string]any) {
			m["signer"].(map[string]any)["signing_key"] = federation.EncodeSigningKey(otherPub)
			m["signature"] = fmt.Sprintf("%s", encodeSig(ed25519.Sign(otherPriv, append([]byte("setu agreement v1\x00"), a.Canonical()...))))
		}), n.PublicKey(), federation.ErrBadSignature, ""},
		{"signature garbled", edit(func(m map[string]any) { m["signature"] = "AAAA" }), n.PublicKey(), &federation.AgreementError{}, ""},
		{"unknown format", edit(func(m map[string]any) { m["format"] = "setu-agreement-signature/9" }), nil, nil, "$.format"},
		{"unknown member", edit(func(m map[string]any) { m["note"] = "x" }), nil, nil, "$.note: unknown field"},
		{"agreement invalid", edit(func(m map[string]any) { m["agreement"].(map[string]any)["max_tlp"] = "red" }), nil, nil,
			"$.agreement.max_tlp: TLP:RED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, _, err := federation.ReadSigned(tt.doc)
			if tt.readErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.readErr) {
					t.Fatalf("ReadSigned = %v, want %q", err, tt.readErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = doc.Verify(tt.key)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Errorf("Verify = %v", err)
				}
			case *federation.AgreementError:
				if !errors.As(err, &want) {
					t.Errorf("Verify = %v, want an AgreementError", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Errorf("Verify = %v, want %v", err, want)
				}
			}
		})
	}
}

func encodeSig(sig []byte) string {
	var s federation.Signature
	copy(s[:], sig)
	b, _ := s.MarshalText()
	return string(b)
}

func TestWithheld(t *testing.T) {
	a := parse(t, func(m map[string]any) { m["release_anyway"] = []any{"note"} })
	got := map[string]bool{}
	for _, typ := range []string{"user-account", "email-addr", "email-message", "note", "observed-data", "indicator"} {
		got[typ] = a.Withheld(typ)
	}
	want := map[string]bool{"user-account": true, "email-addr": true, "email-message": true, "note": false,
		"observed-data": true, "indicator": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Withheld (-want +got):\n%s", diff)
	}
}

// TestReleasesResidentAtHome: an object marked resident in a country goes
// to a partner node declared to be in it, and to no other, whether or not
// the agreement lists the country.
func TestReleasesResidentAtHome(t *testing.T) {
	resident := policy.Facts{Submitter: "in-telco", TLP: stix.TLPLevelGreen, Resident: []string{"IN"}}
	o := federation.Object{Type: "indicator", Facts: resident, Sectors: []string{"energy"}, Residency: resident.Resident}
	for _, tt := range []struct {
		name  string
		edit  func(map[string]any)
		dest  string
		allow bool
		rule  string
	}{
		{"to a node in the country", nil, "IN", true, ""},
		{"to a node in the country, residency not listed", func(m map[string]any) { delete(m, "residency") }, "IN", true, ""},
		{"to a node abroad", nil, "JP", false, "residency"},
		{"to a node of unknown country", nil, "", false, "residency"},
		{"abroad, residency not listed", func(m map[string]any) { delete(m, "residency") }, "JP", false, "residency"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := parse(t, tt.edit).Releases(policy.Config{}, tt.dest, nil, o)
			if d.Allow != tt.allow || (!tt.allow && d.Rule != tt.rule) {
				t.Errorf("Releases = %+v; want allow %v, rule %q", d, tt.allow, tt.rule)
			}
		})
	}
}

// TestReleasesGroupMembership: a group-distributed object goes to the peer
// through a group that the agreement lets cross and that the peer is a
// member of; being a member of one group and having another agreed does
// not let it through.
func TestReleasesGroupMembership(t *testing.T) {
	a := parse(t, nil) // lets g-telecom cross
	for _, tt := range []struct {
		name          string
		object, peer  []string // the object's groups, the peer's
		allow         bool
		rule, inWords string // an allowed object keeps the policy's rule
	}{
		{"member of the agreed group", []string{"g-telecom"}, []string{"g-telecom"}, true, "distribution-group", "g-telecom"},
		{"member through one of the object's groups", []string{"g-ci", "g-telecom"}, []string{"g-ci", "g-telecom"}, true, "distribution-group", ""},
		{"no member", []string{"g-telecom"}, nil, false, "distribution-group", "not in"},
		{"member of a group not agreed", []string{"g-ci"}, []string{"g-ci"}, false, "agreement-group", "none of which the agreement lets cross"},
		{"member of one group, another agreed", []string{"g-ci", "g-telecom"}, []string{"g-ci"}, false, "agreement-group", "do not have JP-CERT as a member"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := policy.Facts{Submitter: "in-telco", TLP: stix.TLPLevelGreen, Scopes: []policy.Scope{policy.ScopeGroup}, Groups: tt.object}
			d := a.Releases(policy.Config{}, "JP", tt.peer, federation.Object{Type: "indicator", Facts: f, Sectors: []string{"energy"}})
			if d.Allow != tt.allow || d.Rule != tt.rule || !strings.Contains(d.Reason, tt.inWords) {
				t.Errorf("Releases = %+v; want allow %v, rule %q, reason naming %q", d, tt.allow, tt.rule, tt.inWords)
			}
		})
	}
}
