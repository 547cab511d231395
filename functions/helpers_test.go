// Package functions_test holds the Functions app's contract with the Go
// handler: each function.json against the routes in handlers.Routes, the
// host.json and local settings the host reads, and the app folder that
// scripts/build assembles.
package functions_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// readJSON decodes a file strictly: a misspelt key ("method") fails.
func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
