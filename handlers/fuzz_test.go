package handlers

// A fuzz target for the timer payload the Functions host POSTs to
// /sweep. Its seeds are in testdata/fuzz/FuzzSweep/ and run with every go
// test; scripts/fuzz runs it for a while.

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// FuzzSweep: whatever body the host's invocation carries, the sweep
// answers 200 with the shape the host reads, {"Outputs", "Logs",
// "ReturnValue"}, or 500 in the same shape when storage is down; never a
// panic. The app is the one every handlers test starts (newApp), over a
// table in Azurite or, with storageDown, over a closed port.
func FuzzSweep(f *testing.F) {
	_, table := testenv.SharedAzurite(f).NewTable(f)
	f.Fuzz(func(t *testing.T, body []byte, storageDown bool) {
		o, want := appOptions{table: table}, 200
		if storageDown {
			o.table, want = testenv.UnreachableTable(t), 500
		}
		app := newApp(t, o)
		req := newRequest(t, "POST", app.srv.URL+"/sweep", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r := testenv.Send(t, app.srv.Client(), req)
		if r.Status != want || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, Content-Type %q, want %d, application/json\n%s", r.Status, r.Header.Get("Content-Type"), want, r.Body)
		}
		var res struct {
			Outputs     map[string]any
			Logs        []string
			ReturnValue *int
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.Body), &fields); err != nil || json.Unmarshal([]byte(r.Body), &res) != nil {
			t.Fatalf("body %q: %v", r.Body, err)
		}
		if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, []string{"Logs", "Outputs", "ReturnValue"}) ||
			res.Outputs == nil || len(res.Outputs) != 0 || len(res.Logs) != 1 || res.ReturnValue == nil || *res.ReturnValue < 0 {
			t.Fatalf("body %s, want {\"Outputs\":{},\"Logs\":[one line],\"ReturnValue\":rows}", r.Body)
		}
	})
}
