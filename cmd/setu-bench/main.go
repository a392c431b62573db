// Command setu-bench measures Setu against its performance targets, each
// next to a baseline measured in the same run. It only wires: see
// internal/bench.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/setu-cti/setu/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
