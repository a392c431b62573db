// Command setu-testreport reads `go test -json` on standard input and
// prints a report for people: packages, failures in full, and why tests
// were skipped. It exits 1 if anything failed. It only wires: see
// internal/testreport.
package main

import (
	"fmt"
	"os"

	"github.com/setu-cti/setu/internal/testreport"
)

func main() {
	failed, err := testreport.Summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setu-testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
