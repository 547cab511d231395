package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A smoke run of the whole benchmark, as scripts/bench runs it but for a
// few seconds each and fewer users: the parts come up on free ports, every
// row of the table is there, and the load runs get no errors. No figure is
// held to a time.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Azurite, the emulator and the handler, and runs go test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	err := run(ctx, []string{"bench", "-quick", "-users", "3,5", "-starts", "3", "-c1", "500ms", "-benchtime", "10x"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	table := out.String()
	t.Log("\n" + table)
	for _, want := range []string{
		"| what | measured | budget | |",
		"point read p50",
		"the 1.5 KB row read by a bare Go HTTP server in a process of its own (`cmd/bench/readserver`, the SDK's leanest `GetEntity`) (c=1, ",
		"the page's own read, a session row of the signed-in user, made by the same bare server: what any server's page pays for that read (c=1, ",
		"Table Storage calls: GET / signed in | 1 (GET 1) |",
		"cold start",
		"3 users: errors | 0 of ",
		"5 users: errors | 0 of ",
		"5 users: handler RSS after the run vs after the warm-up",
		"`BenchmarkSignedInHome`, median of 1",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q", want)
		}
	}
	// The time budgets sit on the ratios where page and read are measured
	// alike, each with its mark.
	for _, want := range []struct{ row, budget string }{
		{"signed-in `GET /` p50 ÷ that server's p50: what the page's own work adds", "≤ 1.5×"},
		{"`/graphcall` p50 ÷ the bare server's session-row read p50", "≤ 2.0×"},
		{"`BenchmarkSignedInHome` ÷ `BenchmarkBareRead`, ns/op: the page against the bare read of its row, both in process", "≤ 1.5×"},
		{"`BenchmarkGraphcallFromCache` ÷ `BenchmarkBareRead`, ns/op: the page against the bare read of its row, both in process", "≤ 2.0×"},
	} {
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(want.row) + ` \| [\d.]+× \| ` + want.budget + ` \| [✓✗] \|$`)
		if !re.MatchString(table) {
			t.Errorf("no row %q with a ratio, %s and a mark", want.row, want.budget)
		}
	}
	// One table: its rows follow each other.
	if n := len(regexp.MustCompile(`(?m)^\|---`).FindAllString(table, -1)); n != 1 {
		t.Errorf("%d tables, want 1", n)
	}
}

// The c=1 calls take turns in blocks, each kind's latencies are its own,
// and a failed call ends the measurement naming its kind.
func TestInTurn(t *testing.T) {
	var order []string
	call := func(name string) c1Call {
		return c1Call{name: name, call: func() error { order = append(order, name); time.Sleep(time.Millisecond); return nil }}
	}
	lats, err := inTurn(t.Context(), 0, 300*time.Millisecond, 30*time.Millisecond, []c1Call{call("a"), call("b")})
	if err != nil {
		t.Fatal(err)
	}
	turns, count := 1, map[string]int{}
	for i, name := range order {
		count[name]++
		if i > 0 && name != order[i-1] {
			turns++
		}
	}
	if turns < 4 || turns > len(order)/2 {
		t.Errorf("%d turns in %d calls, want blocks of a few calls each: %v", turns, len(order), order)
	}
	// A tenth of each turn is not counted.
	for i, name := range []string{"a", "b"} {
		if lats[i].N == 0 || lats[i].N >= count[name] {
			t.Errorf("%s: %d of %d calls counted", name, lats[i].N, count[name])
		}
	}
	failing := c1Call{name: "the page", call: func() error { return errors.New("status 500") }}
	if _, err := inTurn(t.Context(), 0, time.Second, 10*time.Millisecond, []c1Call{call("a"), failing}); err == nil || !strings.Contains(err.Error(), "the page: status 500") {
		t.Errorf("a failed call: %v", err)
	}
}

// A signed-in page that comes back signed out, or redirects to sign-in,
// is an error, not a fast page.
func TestGetOKWantsTheSignedInPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/in":
			io.WriteString(w, `<a id="logout" href="/logout">`)
		case "/out":
			io.WriteString(w, `<a id="sign-in" href="/login">`)
		default:
			http.Redirect(w, r, "/login", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := newClient()
	for path, ok := range map[string]bool{"/in": true, "/out": false, "/graphcall": false} {
		err := getOK(t.Context(), c, srv.URL+path, nil, `id="logout"`)()
		if (err == nil) != ok {
			t.Errorf("GET %s: %v", path, err)
		}
	}
}
