package main

import (
	"context"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/loadgen"
)

// A short run of the load driver: concurrent signed-in users on their own
// sessions get no errors. The figures in BENCHMARKS.md come from longer runs.
func TestLoad(t *testing.T) {
	app := startApp(t, appOptions{})
	r, err := loadgen.Run(context.Background(), loadgen.Options{
		BaseURL: app.URL, UserID: alice.ObjectID, Users: 8, Duration: 2 * time.Second, Paths: []string{"/", "/graphcall", "/private"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Errors != 0 || r.Requests < 50 {
		t.Fatalf("load run: %v", r)
	}
}
