package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at link time (-ldflags "-X .../internal/cli.Version=v1.2.3").
var Version = "dev"

func init() {
	register("version", "print the version", runVersion)
}

func runVersion(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(e.stdout, "setu %s%s %s\n", Version, rev, runtime.Version())
	return 0
}
