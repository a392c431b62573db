package audit

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func record(i int) Record {
	return Record{
		Time:       t0.Add(time.Duration(i) * time.Second),
		Actor:      fmt.Sprintf("user%d", i%3),
		Org:        "cert-in",
		Action:     "read",
		Path:       "taxii:objects",
		Collection: "4bd3a7f8-0c38-4ff1-9c52-2a1f7a2c7a01",
		Objects:    []string{fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d@2026-03-01T12:00:00.000Z", i)},
		Rule:       "tlp.green",
		Status:     200,
	}
}

// chain seals n records from an empty log.
func chain(t *testing.T, n int) []Record {
	t.Helper()
	var rs []Record
	for i := range n {
		rs = append(rs, record(i))
	}
	sealed, err := Seal(0, [32]byte{}, t0, rs)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// TestHashGolden pins the format: a change to Encode or Sum that changes
// the hash of a stored record must come with a new FormatVersion.
func TestHashGolden(t *testing.T) {
	r := Record{Seq: 1, Time: t0, Actor: "alice", Org: "cert-in", Action: "read", Path: "taxii:object",
		Collection: "c", Objects: []string{"indicator--1@2026-03-01T12:00:00.000Z", "x"}, Rule: "tlp.clear", Status: 200}
	const wantEnc = "0000000000000001" + "00064bf535af1000" +
		"00000005616c696365" + "00000007636572742d696e" + "0000000472656164" +
		"0000000c74617869693a6f626a656374" + "0000000163" +
		"00000002" + "00000025696e64696361746f722d2d314032303236" + "2d30332d30315431323a30303a30302e3030305a" + "0000000178" +
		"00000009746c702e636c656172" + "00000000000000c8"
	if got := hex.EncodeToString(r.Encode()); got != wantEnc {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, wantEnc)
	}
	const wantHash = "12d92728888c449c0cdaf0bfbdfc32ffc6547b0523091721ed06400c44186b58" // SHA-256(01 || 32 zero bytes || wantEnc)
	sum := r.Sum()
	if got := hex.EncodeToString(sum[:]); got != wantHash {
		t.Fatalf("Sum = %s, want %s", got, wantHash)
	}
}

func TestEncodeUnambiguous(t *testing.T) {
	// Moving bytes between adjacent fields, or between objects, changes
	// the encoding.
	a := Record{Actor: "ab", Org: "c", Action: "x"}
	b := Record{Actor: "a", Org: "bc", Action: "x"}
	c := Record{Action: "x", Objects: []string{"ab", "c"}}
	d := Record{Action: "x", Objects: []string{"a", "bc"}}
	e := Record{Action: "x", Objects: []string{"abc"}}
	seen := map[string]string{}
	for name, r := range map[string]Record{"a": a, "b": b, "c": c, "d": d, "e": e} {
		k := string(r.Encode())
		if other, ok := seen[k]; ok {
			t.Errorf("records %s and %s encode alike", name, other)
		}
		seen[k] = name
	}
	// nil and empty Objects are the same record.
	if string((&Record{Action: "x"}).Encode()) != string((&Record{Action: "x", Objects: []string{}}).Encode()) {
		t.Error("nil and empty Objects encode differently")
	}
}

func TestSeal(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	in := []Record{
		{Action: "read"},
		{Action: "write", Time: t0.In(ist).Add(1999 * time.Nanosecond), Objects: []string{}},
	}
	prev := [32]byte{9}
	now := t0.Add(time.Hour + 5*time.Nanosecond)
	got, err := Seal(41, prev, now, in)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 42 || got[1].Seq != 43 {
		t.Errorf("seqs %d, %d; want 42, 43", got[0].Seq, got[1].Seq)
	}
	if got[0].Prev != prev || got[1].Prev != got[0].Hash || got[0].Hash != got[0].Sum() || got[1].Hash != got[1].Sum() {
		t.Error("records not chained")
	}
	if !got[0].Time.Equal(t0.Add(time.Hour)) || got[0].Time.Location() != time.UTC {
		t.Errorf("zero time sealed as %v, want now to the microsecond in UTC", got[0].Time)
	}
	if !got[1].Time.Equal(t0.Add(time.Microsecond)) || got[1].Time.Location() != time.UTC {
		t.Errorf("time sealed as %v", got[1].Time)
	}
	if got[1].Objects != nil {
		t.Errorf("empty Objects sealed as %#v, want nil", got[1].Objects)
	}
	if in[0].Seq != 0 || in[0].Time != (time.Time{}) {
		t.Error("Seal changed its input")
	}
	for _, bad := range []Record{
		{Action: "read", Actor: "\xff"},
		{Action: "read", Rule: "a\x00"},
		{Action: "read", Objects: []string{"ok", "\xc0\x80"}},
		{},
	} {
		if _, err := Seal(0, [32]byte{}, now, []Record{{Action: "read"}, bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Seal(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, r := range chain(t, 3) {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if diff := cmp.Diff(r, back); diff != "" {
			t.Fatalf("round trip of %s (-want +got):\n%s", b, diff)
		}
		if back.Hash != back.Sum() {
			t.Fatal("exported record no longer verifies")
		}
	}
	for _, bad := range []string{`{"seq":1,"prev":"00","hash":""}`, `{"seq":1,"prev":"zz"}`, `[]`} {
		var r Record
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	for _, r := range []Record{{}, {Seq: 3, Time: t0, Actor: "a", Action: "read", Objects: []string{"x"}}} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		// What decodes re-encodes to the same record.
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again Record
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if diff := cmp.Diff(r, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("(-first +second):\n%s", diff)
		}
	})
}

// stream yields rs in order, as a store would.
func stream(rs []Record) func() (Record, bool, error) {
	return func() (Record, bool, error) {
		if len(rs) == 0 {
			return Record{}, false, nil
		}
		r := rs[0]
		rs = rs[1:]
		return r, true, nil
	}
}

func TestVerify(t *testing.T) {
	const n = 8
	for _, tc := range []struct {
		name    string
		edit    func(rs []Record) []Record
		head    func(rs []Record) (int64, [32]byte) // nil: the last record
		seq     int64
		problem Problem
	}{
		{name: "intact", edit: func(rs []Record) []Record { return rs }},
		{name: "empty", edit: func([]Record) []Record { return nil }, head: func([]Record) (int64, [32]byte) { return 0, [32]byte{} }},
		{name: "changed", edit: func(rs []Record) []Record { rs[3].Actor = "mallory"; return rs }, seq: 4, problem: Changed},
		{name: "time changed", edit: func(rs []Record) []Record { rs[0].Time = rs[0].Time.Add(time.Microsecond); return rs }, seq: 1, problem: Changed},
		{name: "object changed", edit: func(rs []Record) []Record { rs[5].Objects[0] += "x"; return rs }, seq: 6, problem: Changed},
		{name: "changed and rehashed", edit: func(rs []Record) []Record {
			rs[3].Status = 500
			rs[3].Hash = rs[3].Sum()
			return rs
		}, seq: 5, problem: Unlinked},
		{name: "first not from zero", edit: func(rs []Record) []Record {
			rs[0].Prev = [32]byte{1}
			rs[0].Hash = rs[0].Sum()
			return rs
		}, seq: 1, problem: Unlinked},
		{name: "deleted", edit: func(rs []Record) []Record { return append(rs[:2], rs[3:]...) }, seq: 3, problem: Missing},
		{name: "first deleted", edit: func(rs []Record) []Record { return rs[1:] }, seq: 1, problem: Missing},
		{name: "last deleted", edit: func(rs []Record) []Record { return rs[:n-1] },
			head: func(rs []Record) (int64, [32]byte) { return n, [32]byte{7} }, seq: n, problem: Missing},
		{name: "out of order", edit: func(rs []Record) []Record {
			rs[2], rs[3] = rs[3], rs[2]
			return rs
		}, seq: 3, problem: Missing},
		{name: "swapped seqs", edit: func(rs []Record) []Record {
			rs[2], rs[5] = rs[5], rs[2]
			rs[2].Seq, rs[5].Seq = 3, 6
			return rs
		}, seq: 3, problem: Changed},
		{name: "duplicated", edit: func(rs []Record) []Record { return append(rs[:5], rs[4:]...) }, seq: 5, problem: OutOfOrder},
		{name: "head hash", edit: func(rs []Record) []Record { return rs },
			head: func(rs []Record) (int64, [32]byte) { return n, [32]byte{1} }, seq: n, problem: HeadMismatch},
		{name: "head behind", edit: func(rs []Record) []Record { return rs },
			head: func(rs []Record) (int64, [32]byte) { return n - 2, rs[n-3].Hash }, seq: n - 1, problem: HeadMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.edit(chain(t, n))
			var v Verifier
			var err error
			for _, r := range rs {
				if err = v.Next(r); err != nil {
					break
				}
			}
			if err == nil {
				var seq int64
				var hash [32]byte
				if tc.head != nil {
					seq, hash = tc.head(rs)
				} else {
					seq, hash = rs[len(rs)-1].Seq, rs[len(rs)-1].Hash
				}
				err = v.Head(seq, hash)
			}
			if tc.problem == 0 {
				if err != nil {
					t.Fatalf("Verifier = %v, want nil", err)
				}
				if n, seq, _ := v.Count(); n != int64(len(rs)) || seq != int64(len(rs)) {
					t.Errorf("Count = %d, %d", n, seq)
				}
				if err := Verify(stream(rs)); err != nil {
					t.Errorf("Verify = %v", err)
				}
				return
			}
			var f *Fault
			if !errors.As(err, &f) || !errors.Is(err, ErrBroken) || f.Seq != tc.seq || f.Problem != tc.problem {
				t.Fatalf("Verifier = %v, want %v at record %d", err, tc.problem, tc.seq)
			}
			// The fault sticks.
			if again := v.Next(rs[0]); again != err {
				t.Errorf("after a fault, Next = %v", again)
			}
			if tc.head == nil {
				if err := Verify(stream(rs)); !errors.As(err, &f) || f.Seq != tc.seq {
					t.Errorf("Verify = %v, want a fault at %d", err, tc.seq)
				}
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		if err := Verify(func() (Record, bool, error) { return Record{}, false, boom }); err != boom {
			t.Errorf("Verify = %v, want the read error", err)
		}
	})
}
