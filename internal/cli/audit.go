package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/setu-cti/setu/internal/audit"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("audit", "check and export the audit log: verify, export", runAudit)
}

func runAudit(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "audit", args, map[string]func(context.Context, *env, []string) int{
		"verify": auditVerify,
		"export": auditExport,
	})
}

// withAudit opens the store and runs f with its audit log; f returns the
// exit code and prints its own errors.
func withAudit(ctx context.Context, e *env, sf *storeFlags, f func(store.Audit) int) int {
	st, _, err := sf.open(ctx, false)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	a, ok := st.(store.Audit)
	if !ok {
		errorf(e, "this store does not keep an audit log")
		return 1
	}
	return f(a)
}

func auditVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit verify", "")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	return withAudit(ctx, e, &sf, func(a store.Audit) int { return verifyAuditLog(ctx, e, a) })
}

// verifyAuditLog checks the whole chain against the stored head. On
// success it prints the head, which an operator can keep elsewhere: a head
// rewritten together with the records it covers is only caught by
// comparing with such a copy.
func verifyAuditLog(ctx context.Context, e *env, a store.Audit) int {
	n, _, hash, err := store.VerifyAudit(ctx, a)
	var f *audit.Fault
	switch {
	case errors.As(err, &f):
		errorf(e, "audit log does not verify: record %d: %s: %s", f.Seq, f.Problem, f.Detail)
		return 1
	case err != nil:
		errorf(e, "verifying the audit log: %v", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "audit log verified: %d records, head %s\n", n, hex.EncodeToString(hash[:]))
	return 0
}

func auditExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit export", "[--since TS] [--until TS] [--actor A] [--action X] [--after SEQ]")
	var sf storeFlags
	sf.register(fs, e)
	since := fs.String("since", "", "only records at or after this `time` (RFC 3339, or YYYY-MM-DD in UTC)")
	until := fs.String("until", "", "only records before this `time` (RFC 3339, or YYYY-MM-DD in UTC)")
	actor := fs.String("actor", "", "only records of this `actor` (user name, peer:NAME, cli)")
	action := fs.String("action", "", "only records of this `action` (read, write, deny, token.create, ...)")
	after := fs.String("after", "", "only records after this `seq` (resume an earlier export)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	q := store.AuditQuery{Actor: *actor, Action: *action, Limit: exportPage}
	for _, tf := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"since", *since, &q.Since}, {"until", *until, &q.Until}} {
		if tf.s == "" {
			continue
		}
		t, err := parseAuditTime(tf.s)
		if err != nil {
			errorf(e, "--%s: %v", tf.name, err)
			return 2
		}
		*tf.dst = t
	}
	if *after != "" {
		n, err := strconv.ParseInt(*after, 10, 64)
		if err != nil || n < 0 {
			errorf(e, "--after: %q is not a record number", *after)
			return 2
		}
		q.After = n
	}
	return withAudit(ctx, e, &sf, func(a store.Audit) int {
		w := bufio.NewWriter(e.stdout)
		enc := json.NewEncoder(w)
		next := store.ScanAudit(ctx, a, q)
		for {
			r, ok, err := next()
			if err != nil {
				w.Flush()
				errorf(e, "reading the audit log: %v", err)
				return 1
			}
			if !ok {
				break
			}
			if err := enc.Encode(r); err != nil {
				errorf(e, "%v", err)
				return 1
			}
		}
		if err := w.Flush(); err != nil {
			errorf(e, "%v", err)
			return 1
		}
		return 0
	})
}

// parseAuditTime reads an RFC 3339 time, or a date meaning its midnight UTC.
func parseAuditTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", s)
	}
	return t, nil
}
