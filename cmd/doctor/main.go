// Command doctor checks a deployment's sign-in settings against the tenant
// before a visitor meets the mistake: it reads the same settings as the
// handler (auth.ConfigFromEnv, and internal/config for API_ENDPOINT) and
// prints one line per check, ✓ or ✗ with the fix. It exits 0 only when every
// check passes.
//
//	doctor                # the settings of this environment
//	doctor -skip table    # leave a check out (here: the session table)
//
// Nothing it sends signs anyone in or changes anything: discovery documents
// and key sets are read; the token endpoint gets a made-up code, which tells
// a refused client secret (invalid_client, AADB2C90081) from a refused code
// (invalid_grant); the authorize and end-session endpoints get requests
// whose answers are read without following the sign-in page; the session
// table gets a point read of a row that does not exist.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, errFailed) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}

// errFailed reports that a check failed; its line is already printed.
var errFailed = errors.New("doctor: a check failed")

// run checks the settings getenv gives and prints a line per check to
// stdout. It returns errFailed when a check fails.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	skip := fs.String("skip", "", "comma-separated checks to leave out: "+strings.Join(checkNames, ", "))
	timeout := fs.Duration("timeout", time.Minute, "time for all checks together")
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	skipped := map[string]bool{}
	for _, name := range strings.FieldsFunc(*skip, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(checkNames, name) {
			return fmt.Errorf("doctor: -skip %q: not one of %s", name, strings.Join(checkNames, ", "))
		}
		skipped[name] = true
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	failed := false
	for _, r := range diagnose(ctx, getenv, skipped) {
		fmt.Fprintln(stdout, r)
		failed = failed || r.mark == fail
	}
	if failed {
		return errFailed
	}
	return nil
}
