package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// benchmarkPage measures one page view by a signed-in user: the handler
// the program builds, called in this process with the session cookie the
// user signed in with, reading from the same Azurite and emulator the
// running program uses. No HTTP hop is counted, as none is in
// BenchmarkBareRead: what is left over the bare read is the page's own
// cost. (scripts/bench times the same pages over HTTP.)
func benchmarkPage(b *testing.B, path string) {
	app := startApp(b, appOptions{})
	c := testenv.NewBrowser(b)
	testenv.SignIn(b, c, app.URL+"/login", alice.ObjectID)
	env := maps.Clone(app.env)
	env["LOG_LEVEL"] = "info"
	inProcess, err := newApp(func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, app.URL+path, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	w := &pageWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status, w.signedIn = 0, false
		inProcess.handler.ServeHTTP(w, req)
		if w.status != http.StatusOK || !w.signedIn {
			b.Fatalf("GET %s: %d, signed in: %t", path, w.status, w.signedIn)
		}
	}
}

// pageWriter is a ResponseWriter that keeps of a page only its status and
// whether it is a signed-in page, as a server writes a page into a buffer
// it reuses: what it costs is not the handler's.
type pageWriter struct {
	header   http.Header
	status   int
	signedIn bool
}

func (w *pageWriter) Header() http.Header { return w.header }
func (w *pageWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *pageWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.signedIn = w.signedIn || bytes.Contains(b, []byte(`id="logout"`))
	return len(b), nil
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
