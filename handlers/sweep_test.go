package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// timerBody is what the Functions host POSTs for a timer trigger.
func timerBody(pastDue bool) string {
	return fmt.Sprintf(`{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-29T12:00:00+00:00","Next":"2026-11-29T12:15:00+00:00","LastUpdated":"2026-11-29T12:00:00+00:00"},"IsPastDue":%t}},`+
		`"Metadata":{"sys":{"MethodName":"sweep","UtcNow":"2026-11-29T12:15:00.0312547Z","RandGuid":"0d3c2a52-5e0e-4d6b-9a39-3c1f0a3b8a1e"}}}`, pastDue)
}

// seed stores what one sign-in leaves behind, a session with its token
// cache and the mark of its used state, with the clock at at: three rows.
func seed(t *testing.T, table *aztables.Client, at time.Time) {
	t.Helper()
	store := session.NewStore(table, session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour, Now: func() time.Time { return at }})
	if _, err := store.Create(ctx(t), []byte("{}"), []byte("cache")); err != nil {
		t.Fatal(err)
	}
	if err := store.Consume(ctx(t), session.NewState()); err != nil {
		t.Fatal(err)
	}
}

// Only the host's own invocation, addressed to the listener's socket,
// sweeps; a visitor's POST /sweep, forwarded with the public Host, gets the
// 404 page.
func TestSweep(t *testing.T) {
	const invocationID = "5f0c9e1a-1111-4222-8333-944445555666"
	tests := []struct {
		name        string
		host        string // "" for the listener's own address
		body        string
		storageDown bool
		wantStatus  int
		wantRemoved int
		wantPastDue bool
	}{
		{name: "timer invocation", body: timerBody(false), wantStatus: 200, wantRemoved: 3},
		{name: "past due", body: timerBody(true), wantStatus: 200, wantRemoved: 3, wantPastDue: true},
		{name: "malformed body", body: `{"Data":{"timer":`, wantStatus: 200, wantRemoved: 3},
		{name: "wrong types", body: `{"Data":{"timer":{"IsPastDue":"yes"}}}`, wantStatus: 200, wantRemoved: 3},
		{name: "empty body", body: "", wantStatus: 200, wantRemoved: 3},
		{name: "visitor's POST", host: "app.example.com", body: timerBody(false), wantStatus: 404},
		{name: "visitor's POST naming the port", host: "app.example.com:443", body: timerBody(false), wantStatus: 404},
		{name: "storage down", body: timerBody(false), storageDown: true, wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o appOptions
			if tt.storageDown {
				o.table = testenv.UnreachableTable(t)
			}
			app := newApp(t, o)
			if !tt.storageDown {
				seed(t, app.table, time.Now().Add(-24*time.Hour)) // expired
				seed(t, app.table, time.Now())                    // live
			}
			req := newRequest(t, "POST", app.srv.URL+"/sweep", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("X-Azure-Functions-InvocationId", invocationID)
			if tt.host != "" {
				req.Host = tt.host
			}
			r := testenv.Send(t, app.srv.Client(), req)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", r.Status, tt.wantStatus, r.Body)
			}
			swept := byMsg(app.log.Lines(t), "swept")

			if tt.wantStatus == http.StatusNotFound {
				if title, _ := textOf(r.Body, "error-title"); title != "Page not found" {
					t.Errorf("error-title %q, want the 404 page", title)
				}
				if got := testenv.Rows(t, app.table); !maps.Equal(got, map[string]int{"session": 2, "tokencache": 2, "used": 2}) {
					t.Errorf("rows %v: a visitor's POST swept", got)
				}
				if len(swept) != 0 {
					t.Errorf("a visitor's POST logged %v", swept)
				}
				return
			}

			// The shape the host reads, and nothing else.
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.Body), &fields); err != nil {
				t.Fatalf("body %q: %v", r.Body, err)
			}
			if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, []string{"Logs", "Outputs", "ReturnValue"}) {
				t.Errorf("body %s has keys %q, want Logs, Outputs, ReturnValue", r.Body, keys)
			}
			if string(fields["Outputs"]) != "{}" {
				t.Errorf("Outputs = %s, want {}", fields["Outputs"])
			}
			var logs []string
			if err := json.Unmarshal(fields["Logs"], &logs); err != nil || len(logs) != 1 {
				t.Fatalf("Logs = %s, want one string: %v", fields["Logs"], err)
			}
			var removed int
			if err := json.Unmarshal(fields["ReturnValue"], &removed); err != nil || removed != tt.wantRemoved {
				t.Errorf("ReturnValue = %s, want %d", fields["ReturnValue"], tt.wantRemoved)
			}

			if tt.storageDown {
				if !strings.HasPrefix(logs[0], "sweep failed after removing 0 rows: ") {
					t.Errorf("Logs %q, want the failure", logs)
				}
				failed := byMsg(app.log.Lines(t), "sweep failed")
				if len(failed) != 1 || failed[0]["level"] != "ERROR" || failed[0]["invocationId"] != invocationID {
					t.Errorf("log lines %v, want one ERROR with the invocation ID", failed)
				}
				return
			}
			if want := fmt.Sprintf("removed %d expired rows", tt.wantRemoved); logs[0] != want {
				t.Errorf("Logs %q, want %q", logs, want)
			}
			if got := testenv.Rows(t, app.table); !maps.Equal(got, map[string]int{"session": 1, "tokencache": 1, "used": 1}) {
				t.Errorf("rows left %v, want the live sign-in's", got)
			}
			if len(swept) != 1 || swept[0]["removed"] != float64(tt.wantRemoved) || swept[0]["pastDue"] != tt.wantPastDue || swept[0]["invocationId"] != invocationID {
				t.Errorf("log lines %v, want one \"swept\" with removed %d, pastDue %v, invocationId %s", swept, tt.wantRemoved, tt.wantPastDue, invocationID)
			}
		})
	}
}
