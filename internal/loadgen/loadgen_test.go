package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// app is a stand-in of the app and the emulator's page in one: /login shows
// a sign-in form, posting it signs in, and the pages answer status.
func app(t *testing.T, status int, served *atomic.Int64) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<form method="post" action="/signin"><input type="hidden" name="tx" value="t1">`))
	})
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("tx") != "t1" || r.FormValue("user") != "u1" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.WriteHeader(status)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The warm-up's requests are made but not counted; Warm is called once, at
// its end; its errors count.
func TestWarmup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"ok", http.StatusOK}, {"failing", http.StatusInternalServerError}} {
		t.Run(tc.name, func(t *testing.T) {
			var served, warm atomic.Int64
			base := app(t, tc.status, &served)
			r, err := Run(context.Background(), Options{BaseURL: base, UserID: "u1", Users: 2, Paths: []string{"/page"},
				Warmup: 500 * time.Millisecond, Duration: 300 * time.Millisecond, Warm: func() { warm.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r, served.Load())
			if warm.Load() != 1 {
				t.Errorf("Warm called %d times, want 1", warm.Load())
			}
			if r.Requests == 0 || int64(r.Requests) >= served.Load() {
				t.Errorf("%d requests counted of %d served: the warm-up's must not count", r.Requests, served.Load())
			}
			switch {
			case tc.status == http.StatusOK && r.Errors != 0:
				t.Errorf("%d errors", r.Errors)
			case tc.status != http.StatusOK && r.Errors <= r.Requests:
				t.Errorf("%d errors of %d requests counted: the warm-up's errors must count", r.Errors, r.Requests)
			}
		})
	}
}
