package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("export", "write a collection's objects as a STIX bundle or NDJSON", runExport)
}

const exportPage = 1000

func runExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "export", "[--collection NAME] [--type T,...] [--added-after TS] [--all-versions] [--format bundle|ndjson] [-o FILE]")
	var sf storeFlags
	sf.register(fs, e)
	coll := fs.String("collection", defaultCollection, "collection `name` or id")
	types := fs.String("type", "", "only these STIX `types` (comma-separated)")
	after := fs.String("added-after", "", "only objects added after this RFC 3339 `timestamp`")
	all := fs.Bool("all-versions", false, "every version, not only the latest")
	format := fs.String("format", "bundle", "output `format`: bundle or ndjson")
	out := fs.String("o", "-", "output `file` ('-' for standard output)")
	as := fs.String("as", "", "export only what a user of this organisation `id` may see (default: everything, as the operator)")
	asUser := fs.String("user", "", "with --as, the user `name` (matters for TLP:RED recipients)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if *format != "bundle" && *format != "ndjson" {
		errorf(e, "--format must be bundle or ndjson, not %q", *format)
		return 2
	}
	q := store.Query{Limit: exportPage}
	if *types != "" {
		q.Types = strings.Split(*types, ",")
	}
	if *after != "" {
		t, err := time.Parse(time.RFC3339Nano, *after)
		if err != nil {
			errorf(e, "--added-after: %v", err)
			return 2
		}
		q.AddedAfter = t
	}
	if *all {
		q.Versions.All = true
	}

	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	c, err := collection(ctx, st, *coll, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	q.Collection = c.ID

	var w io.Writer = e.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			errorf(e, "%v", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	query := pager(st.Query)
	if *as != "" {
		db, ok := st.(nodeDB)
		if !ok {
			errorf(e, "this store cannot decide sharing policy")
			return 1
		}
		r, err := orgReader(ctx, db, *as, *asUser)
		if err != nil {
			errorf(e, "%v", err)
			return 1
		}
		pol, err := policy.LoadConfig(ctx, db)
		if err != nil {
			errorf(e, "%v", err)
			return 1
		}
		gate := policy.NewGate(db, pol)
		query = func(ctx context.Context, q store.Query) (store.Page, error) {
			p, err := gate.Query(ctx, r, q)
			return p.Page, err
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	n, err := export(ctx, query, q, *format, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		errorf(e, "export: %v", err)
		return 1
	}
	fmt.Fprintf(e.stderr, "exported %d objects\n", n)
	return 0
}

// export streams every page of q to w; the bundle envelope is written around
// the stored bodies without re-encoding them.
// pager returns pages of a query: the store's own for the operator, or the
// policy gate's for a reader.
type pager func(ctx context.Context, q store.Query) (store.Page, error)

func export(ctx context.Context, query pager, q store.Query, format string, w *bufio.Writer) (int, error) {
	n := 0
	if format == "bundle" {
		// STIX forbids empty lists, so "objects" is opened only with the first object.
		fmt.Fprintf(w, `{"type":"bundle","id":"bundle--%s"`, uuid.NewString())
	}
	for {
		p, err := query(ctx, q)
		if err != nil {
			return n, err
		}
		for _, v := range p.Versions {
			if format == "bundle" {
				if n == 0 {
					w.WriteString(`,"objects":[`)
				} else {
					w.WriteByte(',')
				}
			}
			w.Write(v.Body)
			if format == "ndjson" {
				w.WriteByte('\n')
			}
			n++
		}
		if !p.More {
			break
		}
		q.After = p.Last
	}
	if format == "bundle" {
		if n > 0 {
			w.WriteByte(']')
		}
		w.WriteString("}\n")
	}
	return n, nil
}
