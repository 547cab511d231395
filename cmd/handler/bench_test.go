package main

import (
	"io"
	"net/http"
	"testing"
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

func BenchmarkSignedInHome(b *testing.B)       { benchmarkPage(b, "/") }
func BenchmarkGraphcallFromCache(b *testing.B) { benchmarkPage(b, "/graphcall") }
