// Command readserver is scripts/bench's floor for a signed-in page: an
// HTTP server in a process of its own that answers each GET /read with one
// Table Storage point read of a row, through the aztables client alone,
// and "ok". A page held to it is held to what any Go server pays for the
// same read on the same machine (the hop, the server and the client
// pipeline), so what remains is the page's own work.
//
//	readserver -addr 127.0.0.1:8081 -connection <connection string> -table t -partition p -row r
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
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "readserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("readserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	conn := fs.String("connection", "", "Table Storage connection string")
	table := fs.String("table", "", "table of the row")
	partition := fs.String("partition", "", "partition key of the row")
	rowKey := fs.String("row", "", "row key of the row")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *conn == "" || *table == "" || *partition == "" || *rowKey == "" {
		return errors.New("-connection, -table, -partition and -row are all needed")
	}
	// As the bench's bare read: the SDK's defaults, no retries.
	svc, err := aztables.NewServiceClientFromConnectionString(*conn, &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		return errors.New("-connection is not a Table Storage connection string")
	}
	client := svc.NewClient(*table)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.GetEntity(r.Context(), *partition, *rowKey, nil); err != nil {
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
