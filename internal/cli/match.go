package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/setu-cti/setu/internal/account"
	"github.com/setu-cti/setu/internal/detect"
	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/ingest"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/policy"
	"github.com/setu-cti/setu/internal/stix"
)

func init() {
	register("match", "match events (NDJSON, CSV, STIX, Zeek, Suricata eve) against the node's indicators", runMatch)
}

// maxShownBadEvents bounds the unreadable events reported one by one.
const maxShownBadEvents = 20

// matchLine is one line of `setu match` output: one event and one
// indicator it matched.
type matchLine struct {
	Source string          `json:"source"`
	Line   int             `json:"line"`
	Kind   string          `json:"kind,omitempty"`
	Event  json.RawMessage `json:"event"`
	detect.Hit
}

func runMatch(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "match", "[--format F] [--mapping FILE] [--as ORG] [--report --org ORG] [FILE...|-]")
	var sf storeFlags
	sf.register(fs, e)
	format := fs.String("format", "auto", "input `format`: auto, ndjson, csv, stix, zeek, zeek-json, eve")
	mappingFile := fs.String("mapping", "", "NDJSON/CSV field mapping `file` (default: ECS-style field names)")
	zeekLog := fs.String("zeek-log", "", "Zeek `log` kind for JSON lines without _path (conn, dns, http, files, ssl, x509)")
	as := fs.String("as", "", "match only indicators this organisation `id` may see (default: all, as the operator)")
	warnFile := fs.String("warninglist", "", "`file` of extra values never to alert on, one \"KIND VALUE\" per line (cidr, domain, hostname, value)")
	noWarn := fs.Bool("no-warninglist", false, "do not apply the built-in warninglist")
	report := fs.Bool("report", false, "record STIX sightings of the matched indicators (one per indicator per window)")
	org := fs.String("org", "", "reporting organisation `id` for --report (its identity is where it was sighted)")
	coll := fs.String("collection", defaultCollection, "collection `name` the sightings are stored in")
	window := fs.Duration("window", 24*time.Hour, "sighting aggregation `window`")
	tlp := fs.String("tlp", "green", "TLP `level` of recorded sightings")
	quiet := fs.Bool("q", false, "no progress display")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	f, err := event.ParseFormat(*format)
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	opts := event.Options{ZeekLog: *zeekLog}
	if *mappingFile != "" {
		b, err := os.ReadFile(*mappingFile)
		if err != nil {
			errorf(e, "%v", err)
			return 2
		}
		if opts.Mapping, err = event.ParseMapping(b); err != nil {
			errorf(e, "mapping %s: %v", *mappingFile, err)
			return 2
		}
	}
	if *report && *org == "" {
		errorf(e, "--report needs --org: the organisation that saw the events")
		return 2
	}
	level, err := policy.ParseTLP(*tlp)
	if err != nil {
		errorf(e, "%v", err)
		return 2
	}
	var warn *match.Warninglist
	if !*noWarn {
		warn = match.DefaultWarninglist()
	}
	if *warnFile != "" {
		if warn == nil {
			warn = &match.Warninglist{}
		}
		if err := loadWarninglist(warn, *warnFile); err != nil {
			errorf(e, "%v", err)
			return 2
		}
	}
	names := fs.Args()
	if len(names) == 0 {
		names = []string{"-"}
	}

	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	db, _ := st.(nodeDB)
	var reader *policy.Reader
	pol := policy.Config{}
	if db != nil {
		if pol, err = policy.LoadConfig(ctx, db); err != nil {
			errorf(e, "%v", err)
			return 1
		}
	}
	if *as != "" {
		if db == nil {
			errorf(e, "this store cannot decide sharing policy")
			return 1
		}
		r, err := orgReader(ctx, db, *as, "")
		if err != nil {
			errorf(e, "%v", err)
			return 1
		}
		reader = &r
	}
	var reporter account.Org
	if *report {
		if db == nil {
			errorf(e, "this store cannot record sightings")
			return 1
		}
		if reporter, err = db.Org(ctx, *org); err != nil {
			errorf(e, "--org: %v", err)
			return 1
		}
	}

	var engOpts []detect.Option
	if warn != nil {
		engOpts = append(engOpts, detect.WithWarninglist(warn))
	}
	eng := detect.New(st, pol, engOpts...)
	loadStart := time.Now()
	notEval := 0
	if err := eng.Load(ctx, func(id string, err error) { notEval++ }); err != nil {
		errorf(e, "loading indicators: %v", err)
		return 1
	}
	es := eng.Stats()
	if !*quiet {
		fmt.Fprintf(e.stderr, "%d indicators in the index (%d not evaluable, %d of other pattern types, not evaluated) in %s\n",
			es.Indicators, es.NotEvaluable, es.OtherTypes, time.Since(loadStart).Round(time.Millisecond))
	}

	var sightings *detect.Sightings
	if *report {
		sightings = detect.NewSightings(reporter.IdentityID(), *window, []string{tlpMarking(level)})
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var events, matches, bad int
	failed := false
	start := time.Now()
	for _, name := range names {
		n, m, err := matchOne(ctx, e, eng, reader, sightings, enc, name, f, opts, *quiet, &bad)
		events, matches = events+n, matches+m
		if err != nil {
			failed = true
			errorf(e, "%s: %v", displayName(name), err)
			if errors.Is(err, context.Canceled) {
				break
			}
		}
	}
	if err := out.Flush(); err != nil {
		errorf(e, "%v", err)
		return 1
	}
	secs := max(time.Since(start).Seconds(), 1e-6)
	dropped := eng.Stats().Index.WarninglistDropped - es.Index.WarninglistDropped
	fmt.Fprintf(e.stderr, "%d events, %d matches, %d matches on warninglisted values not reported, %d unreadable events, %.0f events/s\n",
		events, matches, dropped, bad, float64(events)/secs)
	if sightings != nil && sightings.Len() > 0 {
		if err := recordSightings(ctx, e, db, sightings, reporter, *coll); err != nil {
			errorf(e, "recording sightings: %v", err)
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// matchOne matches the events of one input. Unreadable events are reported
// with their line number and skipped.
func matchOne(ctx context.Context, e *env, eng *detect.Engine, r *policy.Reader, sightings *detect.Sightings, enc *json.Encoder,
	name string, f event.Format, opts event.Options, quiet bool, bad *int) (events, matches int, err error) {
	var in io.Reader = e.stdin
	var size int64 = -1
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return 0, 0, err
		}
		defer fh.Close()
		if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in = fh
	}
	cr := &countingReader{r: in}
	rd, err := event.NewReader(cr, f, opts)
	if err != nil {
		return 0, 0, err
	}
	var p *progress
	if !quiet {
		p = newProgress(e.stderr, displayName(name), size, cr)
	}
	defer p.done()
	now := time.Now()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return events, matches, ctx.Err()
		}
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return events, matches, nil
		}
		var le *event.LineError
		if errors.As(err, &le) {
			*bad++
			if *bad <= maxShownBadEvents {
				fmt.Fprintf(e.stderr, "%s:%v\n", displayName(name), err)
			}
			continue
		}
		if err != nil {
			return events, matches, err
		}
		events++
		p.tick()
		at := ev.Observation.FirstObserved
		if at.IsZero() {
			at = now
		}
		hits := eng.Match(r, &ev.Observation, at)
		if len(hits) == 0 {
			continue
		}
		raw := json.RawMessage(ev.Raw)
		if !json.Valid(ev.Raw) {
			raw, _ = json.Marshal(string(ev.Raw)) // CSV records and Zeek TSV lines
		} else {
			raw = append(json.RawMessage(nil), ev.Raw...)
		}
		for _, h := range hits {
			matches++
			if err := enc.Encode(matchLine{Source: displayName(name), Line: ev.Line, Kind: ev.Kind, Event: raw, Hit: h}); err != nil {
				return events, matches, err
			}
			if sightings != nil {
				sightings.Add(h, &ev.Observation, at)
			}
		}
	}
}

// recordSightings stores the aggregated sightings through the write path as
// the reporting organisation, folding in what earlier reports of the same
// windows counted.
func recordSightings(ctx context.Context, e *env, db nodeDB, s *detect.Sightings, org account.Org, collName string) error {
	if err := ensureCollections(ctx, db, time.Now().UTC()); err != nil {
		return err
	}
	c, err := collection(ctx, db, collName, true)
	if err != nil {
		return err
	}
	objs, err := s.Objects(ctx, db, time.Now())
	if err != nil {
		return err
	}
	w := ingest.OrgWriter(org, false)
	w.Audit = cliWrite("cli:match", c.ID)
	opts := []ingest.Option{ingest.WithGroups(db)}
	if n, err := db.Org(ctx, account.NodeOrg); err == nil {
		opts = append(opts, ingest.WithNodeIdentity(n.IdentityID()))
	}
	items, err := ingest.New(db, 0, opts...).ObjectsAs(ctx, w, c.ID, objs)
	if err != nil {
		return err
	}
	var added, rejected int
	for _, it := range items {
		switch it.Outcome {
		case ingest.Added:
			added++
		case ingest.Rejected:
			rejected++
			fmt.Fprintf(e.stderr, "sighting object %s rejected: %v\n", it.ID, it.Err)
		}
	}
	fmt.Fprintf(e.stderr, "recorded %s for %s in collection %s (%d objects stored, %d rejected)\n", s, org.ID, collName, added, rejected)
	if rejected > 0 {
		return fmt.Errorf("%d sighting objects were rejected", rejected)
	}
	return nil
}

// tlpMarking is the TLP 2.0 marking definition id of a level.
func tlpMarking(t stix.TLP) string {
	switch t {
	case stix.TLPLevelClear:
		return stix.TLPClear
	case stix.TLPLevelGreen:
		return stix.TLPGreen
	case stix.TLPLevelAmberStrict:
		return stix.TLPAmberStrict
	case stix.TLPLevelRed:
		return stix.TLPRed
	}
	return stix.TLPAmber
}

// loadWarninglist adds the entries of a file: one "KIND VALUE" per line,
// blank lines and lines starting with # ignored.
func loadWarninglist(w *match.Warninglist, name string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, value, ok := strings.Cut(line, " ")
		if !ok {
			return fmt.Errorf("%s:%d: want \"KIND VALUE\"", name, i+1)
		}
		if err := w.Add(kind, strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
	}
	return nil
}
