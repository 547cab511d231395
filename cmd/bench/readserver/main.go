// Command readserver is a floor scripts/bench sets a signed-in page
// against: an HTTP server in a process of its own that answers each
// GET /read with a point read of the row it is given, in the SDK's leanest
// form (aztables GetEntity with no OData metadata, as BenchmarkBareRead
// reads), and "ok". Pointed at the page's own session row, it is what any
// Go server that reads that row on a page pays on the same machine (the
// hop, the server, the SDK's pipeline), so the page's ratio to it is what
// its own work adds.
//
// The connection string comes from the environment
// (READSERVER_TABLE_CONNECTION_STRING), not the command line, which other
// processes can read.
//
//	readserver -addr 127.0.0.1:8081 -table t -partition p -row r
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "readserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("readserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address to listen on")
	table := fs.String("table", "", "table of the row")
	partition := fs.String("partition", "", "partition key of the row")
	rowKey := fs.String("row", "", "row key of the row")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	conn := getenv("READSERVER_TABLE_CONNECTION_STRING")
	if *addr == "" || *table == "" || *partition == "" || *rowKey == "" || conn == "" {
		return errors.New("-addr, -table, -partition, -row and READSERVER_TABLE_CONNECTION_STRING are all needed")
	}
	// As BenchmarkBareRead: no retries, no metadata.
	svc, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		return errors.New("READSERVER_TABLE_CONNECTION_STRING is not a Table Storage connection string")
	}
	client := svc.NewClient(*table)
	lean := &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatNone)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.GetEntity(r.Context(), *partition, *rowKey, lean); err != nil {
			fmt.Fprintln(stderr, "readserver: read:", err) // Azurite's errors quote no key
			http.Error(w, "read failed", http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok\n"))
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
