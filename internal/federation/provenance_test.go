package federation_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

// nodes are the test federation: each name with a key from its own seed.
var nodes = func() map[string]federation.Signer {
	m := map[string]federation.Signer{}
	for i, name := range []string{"IN-CERT", "JP-CERT", "KR-CERT", "US-CERT", "XX-EVIL"} {
		_, priv, _ := ed25519.GenerateKey(seed(byte(10 + i)))
		m[name] = federation.Signer{Name: name, Key: priv}
	}
	return m
}()

// resolver knows the keys of the named nodes.
func resolver(known ...string) federation.KeyResolver {
	keys := map[string]ed25519.PublicKey{}
	for _, n := range known {
		keys[n] = nodes[n].Key.Public().(ed25519.PublicKey)
	}
	return func(node string) (ed25519.PublicKey, error) {
		if k, ok := keys[node]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("no key for %s: %w", node, federation.ErrUnknownNode)
	}
}

var everyone = resolver("IN-CERT", "JP-CERT", "KR-CERT", "US-CERT")

func bodies(n int) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = fmt.Appendf(nil, `{"id":"indicator--%08x-0000-4000-8000-000000000000","modified":"2026-01-01T00:00:00Z","type":"indicator"}`, i)
	}
	return bs
}

func mustSign(t testing.TB, bs [][]byte) []federation.Provenance {
	t.Helper()
	ps, err := federation.Sign(nodes["IN-CERT"], t0, bs)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func mustHop(t testing.TB, from, to string, bs [][]byte, ps []federation.Provenance) []federation.Provenance {
	t.Helper()
	fw := make([]federation.Forward, len(bs))
	for i := range bs {
		fw[i] = federation.Forward{Body: bs[i], Provenance: ps[i]}
	}
	out, err := federation.AddHop(nodes[from], to, t0.Add(time.Minute), fw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProvenanceRoundTrip(t *testing.T) {
	bs := bodies(7)
	origin := mustSign(t, bs)
	atKR := mustHop(t, "JP-CERT", "KR-CERT", bs, origin)
	atUS := mustHop(t, "KR-CERT", "US-CERT", bs, atKR)
	for _, tt := range []struct {
		name string
		self string
		ps   []federation.Provenance
		want []string // the path
	}{
		{"straight from the origin", "JP-CERT", origin, []string{"IN-CERT"}},
		{"one hop", "KR-CERT", atKR, []string{"IN-CERT", "JP-CERT"}},
		{"two hops", "US-CERT", atUS, []string{"IN-CERT", "JP-CERT", "KR-CERT"}},
		{"checked by a node that is not the recipient", "", atUS, []string{"IN-CERT", "JP-CERT", "KR-CERT"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := federation.NewVerifier(tt.self, everyone)
			for i, p := range tt.ps {
				if err := v.Verify(&p, bs[i]); err != nil {
					t.Fatalf("object %d: %v", i, err)
				}
				got := []string{p.Origin.Node}
				for _, s := range p.Path {
					got = append(got, s.Node)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("path %v, want %v", got, tt.want)
				}
				if p.Sender() != tt.want[len(tt.want)-1] {
					t.Errorf("Sender = %s", p.Sender())
				}
				// The record survives encoding.
				b, err := p.Encode()
				if err != nil {
					t.Fatal(err)
				}
				back, err := federation.DecodeProvenance(b)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(&p, back); diff != "" {
					t.Fatalf("decoded record differs (-want +got):\n%s", diff)
				}
				if err := v.Verify(back, bs[i]); err != nil {
					t.Fatalf("decoded record: %v", err)
				}
			}
		})
	}
	// Hops do not change what they were given.
	if len(origin[0].Path) != 0 || len(atKR[0].Path) != 1 {
		t.Error("AddHop changed its input")
	}
}

func TestProvenanceTampering(t *testing.T) {
	bs := bodies(5)
	atUS := mustHop(t, "KR-CERT", "US-CERT", bs, mustHop(t, "JP-CERT", "KR-CERT", bs, mustSign(t, bs)))
	evil := nodes["XX-EVIL"]
	// forged re-signs a hop's step with key, as the node the step names.
	forged := func(s federation.Step, key ed25519.PrivateKey, body []byte, prev federation.Step) federation.Step {
		ps, err := federation.AddHop(federation.Signer{Name: s.Node, Key: key}, s.To, s.At,
			[]federation.Forward{{Body: body, Provenance: federation.Provenance{Format: 1, Origin: prev}}})
		if err != nil {
			t.Fatal(err)
		}
		return ps[0].Path[0]
	}
	for _, tt := range []struct {
		name    string
		edit    func(p *federation.Provenance, body *[]byte)
		self    string
		resolve federation.KeyResolver
		want    error
	}{
		{"untouched", func(*federation.Provenance, *[]byte) {}, "US-CERT", everyone, nil},
		{"object changed", func(_ *federation.Provenance, b *[]byte) {
			*b = []byte(strings.Replace(string(*b), "indicator", "malware", 1))
		}, "US-CERT", everyone, federation.ErrBadSignature},
		{"another object of the batch", func(_ *federation.Provenance, b *[]byte) { *b = bs[1] }, "US-CERT", everyone, federation.ErrBadSignature},
		{"another object's path", func(p *federation.Provenance, _ *[]byte) { p.Path = atUS[1].Path }, "US-CERT", everyone, federation.ErrBadSignature},
		{"path reordered", func(p *federation.Provenance, _ *[]byte) { p.Path[0], p.Path[1] = p.Path[1], p.Path[0] }, "US-CERT", everyone, federation.ErrBadSignature},
		{"path reordered and relabelled", func(p *federation.Provenance, _ *[]byte) {
			// KR's step first, then JP's, with the recipients made to chain.
			kr, jp := p.Path[1], p.Path[0]
			kr.To, jp.To = "JP-CERT", "US-CERT"
			p.Path = []federation.Step{kr, jp}
		}, "US-CERT", everyone, federation.ErrBadSignature},
		{"first hop dropped", func(p *federation.Provenance, _ *[]byte) { p.Path = p.Path[1:] }, "US-CERT", everyone, federation.ErrBadSignature},
		{"last hop dropped", func(p *federation.Provenance, _ *[]byte) { p.Path = p.Path[:1] }, "US-CERT", everyone, federation.ErrMisdirected},
		{"hop forged under a known node's name", func(p *federation.Provenance, b *[]byte) {
			p.Path[1] = forged(p.Path[1], evil.Key, *b, p.Path[0])
		}, "US-CERT", everyone, federation.ErrBadSignature},
		{"hop re-signed by its node over another object", func(p *federation.Provenance, _ *[]byte) {
			p.Path[1] = forged(p.Path[1], nodes["KR-CERT"].Key, bs[2], p.Path[0])
		}, "US-CERT", everyone, federation.ErrBadSignature},
		{"hop recipient changed", func(p *federation.Provenance, _ *[]byte) { p.Path[0].To = "US-CERT" }, "US-CERT", everyone, federation.ErrBadSignature},
		{"origin time changed", func(p *federation.Provenance, _ *[]byte) { p.Origin.At = p.Origin.At.Add(time.Second) }, "US-CERT", everyone, federation.ErrBadSignature},
		{"origin renamed", func(p *federation.Provenance, _ *[]byte) { p.Origin.Node = "JP-CERT" }, "US-CERT", everyone, federation.ErrLoop},
		{"origin claimed by another known node", func(p *federation.Provenance, _ *[]byte) { p.Origin.Node = "US-CERT" }, "", everyone, federation.ErrBadSignature},
		{"index changed", func(p *federation.Provenance, _ *[]byte) { p.Origin.Index = 1 }, "US-CERT", everyone, federation.ErrBadSignature},
		{"root changed", func(p *federation.Provenance, _ *[]byte) { p.Origin.Root[0] ^= 1 }, "US-CERT", everyone, federation.ErrBadSignature},
		{"signature changed", func(p *federation.Provenance, _ *[]byte) { p.Path[1].Sig[5] ^= 1 }, "US-CERT", everyone, federation.ErrBadSignature},
		{"batch size changed", func(p *federation.Provenance, _ *[]byte) { p.Origin.Size = 6 }, "US-CERT", everyone, federation.ErrBadSignature},
		{"proof too short", func(p *federation.Provenance, _ *[]byte) { p.Origin.Proof = p.Origin.Proof[1:] }, "US-CERT", everyone, federation.ErrMalformed},
		{"wrong key for the origin", func(*federation.Provenance, *[]byte) {}, "US-CERT", func(n string) (ed25519.PublicKey, error) {
			if n == "IN-CERT" {
				return evil.Key.Public().(ed25519.PublicKey), nil
			}
			return everyone(n)
		}, federation.ErrBadSignature},
		{"unknown origin", func(*federation.Provenance, *[]byte) {}, "US-CERT", resolver("JP-CERT", "KR-CERT"), federation.ErrUnknownOrigin},
		{"unknown hop", func(*federation.Provenance, *[]byte) {}, "US-CERT", resolver("IN-CERT", "JP-CERT"), federation.ErrUnknownNode},
		{"path through the verifier", func(*federation.Provenance, *[]byte) {}, "JP-CERT", everyone, federation.ErrLoop},
		{"the verifier is the origin", func(*federation.Provenance, *[]byte) {}, "IN-CERT", everyone, federation.ErrLoop},
		{"a node twice", func(p *federation.Provenance, _ *[]byte) { p.Path = append(p.Path, p.Path[0]) }, "", everyone, federation.ErrLoop},
		{"addressed to another node", func(*federation.Provenance, *[]byte) {}, "XX-EVIL", everyone, federation.ErrMisdirected},
		{"unknown format", func(p *federation.Provenance, _ *[]byte) { p.Format = 2 }, "US-CERT", everyone, federation.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := atUS[0]
			p.Path = slices.Clone(p.Path)
			body := slices.Clone(bs[0])
			tt.edit(&p, &body)
			err := federation.NewVerifier(tt.self, tt.resolve).Verify(&p, body)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if tt.want == federation.ErrUnknownNode && errors.Is(err, federation.ErrUnknownOrigin) {
				t.Errorf("an unknown hop reported as an unknown origin: %v", err)
			}
		})
	}
}

// TestVerifierRemembersOnlyWhatVerified checks that a failed verification
// is not remembered as a success: the same forged step fails every time,
// and a genuine batch verifies after it.
func TestVerifierRemembersOnlyWhatVerified(t *testing.T) {
	bs := bodies(3)
	ps := mustSign(t, bs)
	v := federation.NewVerifier("JP-CERT", everyone)
	bad := ps[0]
	bad.Origin.Sig[0] ^= 1
	for range 2 {
		if err := v.Verify(&bad, bs[0]); !errors.Is(err, federation.ErrBadSignature) {
			t.Fatalf("forged: %v", err)
		}
	}
	for i := range ps {
		if err := v.Verify(&ps[i], bs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// A remembered signature is bound to its key: another resolver's key
	// for the same node is checked afresh.
	other := federation.NewVerifier("JP-CERT", func(n string) (ed25519.PublicKey, error) {
		return nodes["XX-EVIL"].Key.Public().(ed25519.PublicKey), nil
	})
	if err := other.Verify(&ps[0], bs[0]); !errors.Is(err, federation.ErrBadSignature) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestAddHopRefusesLoops(t *testing.T) {
	bs := bodies(2)
	atKR := mustHop(t, "JP-CERT", "KR-CERT", bs, mustSign(t, bs))
	fw := []federation.Forward{{Body: bs[0], Provenance: atKR[0]}, {Body: bs[1], Provenance: atKR[1]}}
	for _, tt := range []struct {
		from, to string
	}{
		{"KR-CERT", "JP-CERT"}, // back to a node on the path
		{"KR-CERT", "IN-CERT"}, // back to the origin
		{"JP-CERT", "US-CERT"}, // a node forwarding twice
		{"KR-CERT", "KR-CERT"}, // to itself
	} {
		if _, err := federation.AddHop(nodes[tt.from], tt.to, t0, fw); !errors.Is(err, federation.ErrLoop) {
			t.Errorf("AddHop %s -> %s: %v, want ErrLoop", tt.from, tt.to, err)
		}
	}
	if _, err := federation.Sign(nodes["IN-CERT"], t0, nil); err == nil {
		t.Error("an empty batch was signed")
	}
	if _, err := federation.Sign(federation.Signer{Name: "IN-CERT"}, t0, bs); err == nil {
		t.Error("signed without a key")
	}
}

func TestDecodeProvenance(t *testing.T) {
	bs := bodies(3)
	good, err := mustHop(t, "JP-CERT", "KR-CERT", bs, mustSign(t, bs))[0].Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := federation.DecodeProvenance(good); err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !strings.Contains(string(good), old) {
			t.Fatalf("%s not in %s", old, good)
		}
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	for _, tt := range []struct {
		name string
		doc  []byte
		want string
	}{
		{"not JSON", []byte("{"), "invalid JSON"},
		{"unknown member", replace(`"v":1`, `"v":1,"extra":true`), "unknown field"},
		{"duplicate member", replace(`"v":1`, `"v":1,"v":1`), "duplicate name"},
		{"format", replace(`"v":1`, `"v":7`), "format 7"},
		{"short root", replace(`"root":"`, `"root":"AAAA`), "32 bytes"},
		{"bad signature length", replace(`"sig":"`, `"sig":"AAAA`), "64 bytes"},
		{"index past the batch", replace(`"index":0`, `"index":9`), "index 9"},
		{"negative size", replace(`"size":3`, `"size":-3`), "batch size"},
		{"origin with a recipient", replace(`"origin":{`, `"origin":{"to":"JP-CERT",`), "names no recipient"},
		{"hop without a recipient", replace(`"to":"KR-CERT"`, `"to":""`), "names the node"},
		{"bad node name", replace(`"node":"IN-CERT"`, `"node":"IN CERT"`), "node name"},
		{"no time", replace(`"at":"2026-05-04T12:00:00Z"`, `"at":"0001-01-01T00:00:00Z"`), "no time"},
		{"time not RFC 3339", replace(`"at":"2026-05-04T12:00:00Z"`, `"at":"yesterday"`), "$.origin.at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := federation.DecodeProvenance(tt.doc)
			if !errors.Is(err, federation.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeProvenance = %v, want ErrMalformed mentioning %q", err, tt.want)
			}
		})
	}
	long := federation.Provenance{Format: 1}
	if err := json2(t, &long, good); err == nil {
		long.Path = slices.Repeat(long.Path, federation.MaxPath+1)
		b, _ := long.Encode()
		if _, err := federation.DecodeProvenance(b); !errors.Is(err, federation.ErrMalformed) {
			t.Errorf("a path of %d hops: %v", len(long.Path), err)
		}
	}

	env := fmt.Appendf(nil, `{%q:%s}`, federation.Key("indicator--x", t0), good)
	m, err := federation.DecodeEnvelope(env)
	if err != nil || len(m) != 1 || m["indicator--x@2026-05-04T12:00:00Z"] == nil {
		t.Errorf("DecodeEnvelope = %v, %v", m, err)
	}
	for _, bad := range []string{`{"k":null}`, `[]`, `{"k":{"v":1}}`} {
		if _, err := federation.DecodeEnvelope([]byte(bad)); !errors.Is(err, federation.ErrMalformed) {
			t.Errorf("DecodeEnvelope(%s) = %v", bad, err)
		}
	}
}

func json2(t *testing.T, p *federation.Provenance, b []byte) error {
	t.Helper()
	q, err := federation.DecodeProvenance(b)
	if err == nil {
		*p = *q
	}
	return err
}

func TestKey(t *testing.T) {
	ind := store.Version{ID: "indicator--1", Modified: time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.FixedZone("IST", 19800)),
		Created: t0}
	md := store.Version{ID: "marking-definition--1", Created: t0}
	sco := store.Version{ID: "ipv4-addr--1", Hash: sha256.Sum256([]byte("x"))}
	for _, tt := range []struct {
		v    store.Version
		want string
	}{
		{ind, "indicator--1@2026-01-01T21:34:05.12Z"},
		{md, "marking-definition--1@2026-05-04T12:00:00Z"},
		{sco, fmt.Sprintf("ipv4-addr--1@sha256:%x", sha256.Sum256([]byte("x")))},
	} {
		if got := federation.KeyOf(&tt.v); got != tt.want {
			t.Errorf("KeyOf(%s) = %s, want %s", tt.v.ID, got, tt.want)
		}
	}
}

func FuzzDecodeProvenance(f *testing.F) {
	bs := bodies(5)
	for _, p := range mustHop(f, "JP-CERT", "KR-CERT", bs, mustSign(f, bs)) {
		b, err := p.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"origin":{}}`))
	f.Add([]byte(`{"v":1,"origin":{"node":"A","at":"2026-01-01T00:00:00Z","root":"","index":0,"size":1,"sig":""},"path":[]}`))
	f.Add([]byte(`null`))
	v := federation.NewVerifier("US-CERT", everyone)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := federation.DecodeProvenance(data)
		if err != nil {
			if !errors.Is(err, federation.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes re-encodes to a record that decodes the same.
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		q, err := federation.DecodeProvenance(b)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v\n%s", err, b)
		}
		if diff := cmp.Diff(p, q); diff != "" {
			t.Fatalf("round trip changed the record:\n%s", diff)
		}
		// Verification of arbitrary input ends in an error or success,
		// never a panic.
		_ = v.Verify(p, bs[0])
	})
}

// BenchmarkVerify measures verification per object for a batch of 1,000,
// against the baseline of one Ed25519 signature per object, measured in the
// same run. Each iteration starts a fresh Verifier, as for a new envelope.
func BenchmarkVerify(b *testing.B) {
	const n = 1000
	bs := bodies(n)
	b.Run("baseline-ed25519-per-object", func(b *testing.B) {
		signer := nodes["IN-CERT"]
		pub := signer.Key.Public().(ed25519.PublicKey)
		sigs := make([][]byte, n)
		for i, body := range bs {
			d := sha256.Sum256(body)
			sigs[i] = ed25519.Sign(signer.Key, d[:])
		}
		b.ReportAllocs()
		for b.Loop() {
			for i, body := range bs {
				d := sha256.Sum256(body)
				if !ed25519.Verify(pub, d[:], sigs[i]) {
					b.Fatal("bad signature")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
	})
	for _, hops := range []int{0, 2} {
		b.Run(fmt.Sprintf("merkle-batch-%d-hops-%d", n, hops), func(b *testing.B) {
			ps := mustSign(b, bs)
			self := "JP-CERT"
			if hops == 2 {
				ps = mustHop(b, "KR-CERT", "US-CERT", bs, mustHop(b, "JP-CERT", "KR-CERT", bs, ps))
				self = "US-CERT"
			}
			b.ReportAllocs()
			for b.Loop() {
				v := federation.NewVerifier(self, everyone)
				for i := range ps {
					if err := v.Verify(&ps[i], bs[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
		})
	}
}
