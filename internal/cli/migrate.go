package cli

import (
	"context"
	"fmt"
)

func init() {
	register("migrate", "apply pending database schema migrations", runMigrate)
}

func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "migrate", "[--data DIR] [--db DSN]")
	var sf storeFlags
	sf.register(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	st, desc, err := sf.open(ctx, true)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	defer st.Close()
	cur, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s: schema version %d (latest %d)\n", desc, cur, latest)
	return 0
}
