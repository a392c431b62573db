package detect_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/sqlite"
)

// counting is the store, counting the versions the engine reads.
type counting struct {
	*sqlite.DB
	read int
}

func (c *counting) Query(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := c.DB.Query(ctx, q)
	c.read += len(p.Versions)
	return p, err
}

func (c *counting) Current(ctx context.Context, id string) (store.Version, error) {
	c.read++
	return c.DB.Current(ctx, id)
}

// TestLoadFollowsIndicators: the engine reads its indicators and their
// neighbourhood, not the rest of the store — a store of a thousand
// unrelated techniques and relationships costs nothing — and grows the
// neighbourhood as indicators and relationships arrive, in either order.
func TestLoadFollowsIndicators(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	var bulk []string
	for n := 1; n <= 500; n++ {
		bulk = append(bulk, sdo("attack-pattern", n, 0, fmt.Sprintf(`,"name":"technique %d"`, n)),
			relationship(1000+n, "uses", id("malware", 1), id("attack-pattern", n)))
	}
	w.put(t, ingest.Operator, bulk...)
	w.put(t, ingest.Operator,
		indicator(1, 0, "[domain-name:value = 'evil.example']", ""),
		sdo("malware", 1, 0, `,"name":"PoisonIvy","is_family":true`),
		sdo("course-of-action", 1, 0, `,"name":"Block the domain"`),
		sdo("course-of-action", 2, 0, `,"name":"Reimage"`),
		relationship(1, "indicates", id("indicator", 1), id("malware", 1)),
		relationship(2, "mitigates", id("course-of-action", 1), id("indicator", 1)),
		relationship(3, "mitigates", id("course-of-action", 2), id("malware", 1)),
	)
	src := &counting{DB: w.db}
	e := detect.New(src, policy.Config{})
	if err := e.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// One indicator, three relationships, three objects.
	if src.read > 7 {
		t.Errorf("Load read %d versions for one indicator and its six neighbours", src.read)
	}
	full := id("indicator", 1) + " indicates PoisonIvy mitigated-by Block the domain mitigated-by Reimage"
	if d := cmp.Diff([]string{full}, names(e.Match(nil, domain("evil.example"), at))); d != "" {
		t.Errorf("hits (-want +got):\n%s", d)
	}

	// A relationship before its indicator, then the indicator, then what
	// the relationship names: each joins the graph when it can.
	w.put(t, ingest.Operator, relationship(4, "indicates", id("indicator", 2), id("malware", 2)))
	must(t, e.Sync(ctx, nil))
	w.put(t, ingest.Operator, indicator(2, 0, "[domain-name:value = 'bad.example']", ""))
	must(t, e.Sync(ctx, nil))
	w.put(t, ingest.Operator, sdo("malware", 2, 0, `,"name":"Emotet","is_family":true`),
		sdo("course-of-action", 3, 0, `,"name":"Patch"`), relationship(5, "mitigates", id("course-of-action", 3), id("malware", 2)))
	must(t, e.Sync(ctx, nil))
	if d := cmp.Diff([]string{id("indicator", 2) + " indicates Emotet mitigated-by Patch"}, names(e.Match(nil, domain("bad.example"), at))); d != "" {
		t.Errorf("hits after growth (-want +got):\n%s", d)
	}
	// An empty store of indicators loads nothing else at all.
	empty := newWorld(t)
	empty.put(t, ingest.Operator, bulk...)
	src = &counting{DB: empty.db}
	if err := detect.New(src, policy.Config{}).Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if src.read != 0 {
		t.Errorf("Load read %d versions of a store without indicators", src.read)
	}
}
