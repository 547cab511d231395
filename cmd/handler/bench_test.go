package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// benchmarkPage measures one page view by a signed-in user through the real
// handler, Azurite and the emulator on loopback: the session read from
// Table Storage dominates.
func benchmarkPage(b *testing.B, path string) {
	app := startApp(b, appOptions{})
	c := newClient(b)
	signIn(b, app, c, app.URL+"/login", alice)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(app.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

// BenchmarkBareRead is the floor a signed-in page is held to: the
// Table Storage SDK reading one small row from the same Azurite, with no
// HTTP server, session or page around it.
func BenchmarkBareRead(b *testing.B) {
	_, table := testenv.SharedAzurite(b).NewTable(b)
	row, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: "p", RowKey: "session"},
		Properties: map[string]any{"Data": aztables.EDMBinary(make([]byte, 1500))}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := table.AddEntity(context.Background(), row, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := table.GetEntity(context.Background(), "p", "session", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignedInHome(b *testing.B)       { benchmarkPage(b, "/") }
func BenchmarkGraphcallFromCache(b *testing.B) { benchmarkPage(b, "/graphcall") }
