package main

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// signedInApp starts the program and signs Alice in through it, returning
// the program and her session cookies for target.
func signedInApp(b *testing.B, target string) (*testApp, []*http.Cookie) {
	app := startApp(b, appOptions{})
	c := testenv.NewBrowser(b)
	testenv.SignIn(b, c, app.URL+"/login", alice.ObjectID)
	u, err := url.Parse(app.URL + target)
	if err != nil {
		b.Fatal(err)
	}
	return app, c.Jar.Cookies(u)
}

// benchmarkPage measures one page view by a signed-in user: the handler
// the program builds, called in this process with the session cookie the
// user signed in with, reading from the same Azurite and emulator the
// running program uses, and logging to a file as scripts/bench's handler
// does. No HTTP hop is counted, as none is in BenchmarkBareRead: what is
// left over the bare read is the page's own cost. (scripts/bench times the
// same pages over HTTP.)
func benchmarkPage(b *testing.B, path string) {
	app, cookies := signedInApp(b, path)
	env := maps.Clone(app.env)
	env["LOG_LEVEL"] = "info"
	logFile, err := os.Create(filepath.Join(b.TempDir(), "handler.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	inProcess, err := newApp(func(k string) string { return env[k] }, logFile)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, app.URL+path, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	w := &pageWriter{header: http.Header{}}
	view := func() {
		clear(w.header)
		w.status, w.signedIn = 0, false
		inProcess.handler.ServeHTTP(w, req)
		if w.status != http.StatusOK || !w.signedIn {
			b.Fatalf("GET %s: %d, signed in: %t", path, w.status, w.signedIn)
		}
	}
	warm(view)
	b.ReportAllocs()
	for b.Loop() {
		view()
	}
}

// warm calls f for a second before a benchmark measures it. Azurite is
// JavaScript compiled as it runs: a fresh one answers its first thousands
// of calls more slowly, and a benchmark that met it cold would time
// Azurite's warm-up as much as the call.
func warm(f func()) {
	for start := time.Now(); time.Since(start) < time.Second; {
		f()
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

// BenchmarkBareRead is the floor a signed-in page is held to: the Table
// Storage SDK reading the very row the page reads, Alice's session row in
// the program's table, with no HTTP server, session or page around it, in
// the leanest form the SDK offers (no OData metadata, "Payload format for
// Table service operations").
func BenchmarkBareRead(b *testing.B) {
	app, _ := signedInApp(b, "/")
	filter := "RowKey eq 'session'"
	rows := testenv.Entities(b, app.Table, &aztables.ListEntitiesOptions{Filter: &filter})
	if len(rows) != 1 {
		b.Fatalf("%d session rows after one sign-in, want 1", len(rows))
	}
	partition := rows[0].PartitionKey
	lean := &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatNone)}
	read := func() {
		if _, err := app.Table.GetEntity(context.Background(), partition, "session", lean); err != nil {
			b.Fatal(err)
		}
	}
	warm(read)
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
}

func BenchmarkSignedInHome(b *testing.B)       { benchmarkPage(b, "/") }
func BenchmarkGraphcallFromCache(b *testing.B) { benchmarkPage(b, "/graphcall") }
