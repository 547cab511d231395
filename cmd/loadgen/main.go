// Command loadgen puts load on a local run of the app (scripts/dev): it
// signs in -users users through the B2C emulator, then has them load pages
// for -duration, and prints throughput and latency.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	base := fs.String("url", "http://localhost:7071", "the app's base URL (loopback only)")
	user := fs.String("user", "a11ce000-0000-4000-8000-000000000001", "object ID of the emulator user to sign in as")
	users := fs.Int("users", 20, "concurrent signed-in users")
	duration := fs.Duration("duration", 10*time.Second, "how long to load pages")
	paths := fs.String("paths", "/,/graphcall", "comma-separated pages each user loads in turn")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	report, err := loadgen.Run(ctx, loadgen.Options{BaseURL: *base, UserID: *user, Users: *users, Duration: *duration, Paths: strings.Split(*paths, ",")})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, report)
	return nil
}
