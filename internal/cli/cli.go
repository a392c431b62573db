// Package cli implements the setu command: one file per subcommand, each run
// in-process through Main so tests drive the real commands. Only this
// package reads configuration (flags and SETU_* environment variables);
// everything below it receives values.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// env is what a command sees of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, e *env, args []string) int) {
	commands[name] = command{summary: summary, run: run}
}

// Main runs the setu command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "setu: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: setu COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'setu COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set that reports to stderr and does not exit.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: setu %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns exit code and false when the command
// must stop (help requested: 0, bad flags: 2).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	data string
	db   string
}

func (s *storeFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&s.data, "data", e.getenv("SETU_DATA"), "data `directory` (default: SETU_DATA or the per-user data directory)")
	fs.StringVar(&s.db, "db", e.getenv("SETU_DB"), "database `DSN`: a SQLite file path or sqlite:PATH, or postgres://... (default: setu.db in the data directory)")
}

// dataDir resolves the data directory and creates it on first use.
func (s *storeFlags) dataDir() (string, error) {
	dir := s.data
	if dir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no data directory: pass --data or set SETU_DATA (%v)", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		dir = filepath.Join(base, "setu")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating data directory: %w", err)
	}
	return dir, nil
}

func errorf(e *env, format string, a ...any) {
	fmt.Fprintf(e.stderr, "setu: "+format+"\n", a...)
}

// flagsFirst moves flags ahead of positional arguments, so that
// "setu collection grant shared cert-in --read" works as people type it; the
// standard flag package stops at the first positional argument. "--" ends
// the flags as usual.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // reported by Parse
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) > 0 {
		flags = append(flags, "--")
	}
	return append(flags, pos...)
}

// oneArg parses flags that follow or precede exactly one positional argument.
func oneArg(fs *flag.FlagSet, args []string) (string, int, bool) {
	if code, ok := parseFlags(fs, args); !ok {
		return "", code, false
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return "", 2, false
	}
	return fs.Arg(0), 0, true
}

func sorted(s []string) []string { sort.Strings(s); return s }
