package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
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
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(want.row) + ` \| [\d.]+×[^|]* \| ` + want.budget + ` \| [✓✗] \|$`)
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
	call := func(name string, d time.Duration) c1Call {
		return c1Call{name: name, call: func() error { order = append(order, name); time.Sleep(d); return nil }}
	}
	const block, warm, rounds = 100 * time.Millisecond, 1, 4
	// Each kind takes its own time, so a swap of results would show.
	calls := []c1Call{call("a", time.Millisecond), call("b", 4*time.Millisecond), call("c", 2*time.Millisecond)}
	lats, err := inTurn(t.Context(), warm, rounds, block, calls)
	if err != nil {
		t.Fatal(err)
	}
	var turns []string
	count := map[string]int{}
	for i, name := range order {
		count[name]++
		if i == 0 || name != order[i-1] {
			turns = append(turns, name)
		}
	}
	// Blocks of one kind next to each other, across a round's end, make one
	// turn; a round more than asked for would make more turns than blocks.
	if n := len(turns); n < (warm+rounds)*2 || n > (warm+rounds)*len(calls) {
		t.Errorf("%d turns in %d calls, want one block per kind and round: %v", n, len(order), turns)
	}
	if seq := strings.Join(turns, ""); seq == strings.Repeat(seq[:len(calls)], len(seq)/len(calls)) {
		t.Errorf("turns %s: the same order every round", seq)
	}
	for i, want := range []time.Duration{time.Millisecond, 4 * time.Millisecond, 2 * time.Millisecond} {
		name, l := calls[i].name, lats[i]
		// The warm-up round and a tenth of each turn are not counted.
		if l.N == 0 || l.N >= count[name]*rounds/(warm+rounds) {
			t.Errorf("%s: %d of %d calls counted", name, l.N, count[name])
		}
		if len(l.Rounds) != rounds {
			t.Errorf("%s: p50s of %d rounds, want %d", name, len(l.Rounds), rounds)
		}
		if l.P50 < want {
			t.Errorf("%s: p50 %v, less than the %v each call sleeps", name, l.P50, want)
		}
	}
	// Each kind's figures are its own: a sleeps least, then c, then b.
	if a, b, c := lats[0].P50, lats[1].P50, lats[2].P50; !(a < c && c < b) {
		t.Errorf("p50s a %v, b %v, c %v: want a < c < b, as they sleep", a, b, c)
	}
	failing := c1Call{name: "the page", call: func() error { return errors.New("status 500") }}
	if _, err := inTurn(t.Context(), 0, 1, 10*time.Millisecond, []c1Call{calls[0], failing}); err == nil || !strings.Contains(err.Error(), "the page: status 500") {
		t.Errorf("a failed call: %v", err)
	}
}

// A signed-in page that comes back signed out, or redirects to sign-in,
// is an error, not a fast page; so is a 200 from /graphcall without the
// API's answer on it (the handler's own error pages are not 200).
func TestGetOKWantsTheSignedInPage(t *testing.T) {
	const signedIn, apiResult = `<a id="logout" href="/logout">`, `<pre id="api-result">`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/in":
			io.WriteString(w, signedIn)
		case "/out":
			io.WriteString(w, `<a id="sign-in" href="/login">`)
		case "/api":
			io.WriteString(w, signedIn+apiResult+"{}</pre>")
		case "/api-failed":
			io.WriteString(w, signedIn+`<p id="error">The API did not answer.</p>`)
		default:
			http.Redirect(w, r, "/login", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := newClient()
	for _, tt := range []struct {
		path string
		want []string
		ok   bool
	}{
		{"/in", []string{signedIn}, true},
		{"/out", []string{signedIn}, false},
		{"/elsewhere", []string{signedIn}, false},
		{"/api", []string{signedIn, apiResult}, true},
		{"/api-failed", []string{signedIn, apiResult}, false},
	} {
		err := getOK(t.Context(), c, srv.URL+tt.path, nil, tt.want...)()
		if (err == nil) != tt.ok {
			t.Errorf("GET %s: %v", tt.path, err)
		}
	}
}

// The in-process ratio is taken round by round, each page against the
// read of its own round; the budget is judged on their median, and the
// row shows how far the rounds spread.
func TestRoundRatio(t *testing.T) {
	bare := goBench{Name: "BenchmarkBareRead", NsPerRound: []float64{100, 200, 100}}
	// The medians, 200 ÷ 100, would say 2×; round by round it is 1.2×.
	page := goBench{Name: "BenchmarkSignedInHome", NsPerRound: []float64{120, 240, 130}}
	if got := roundRatios(page.NsPerRound, bare.NsPerRound); !slices.Equal(got, []float64{1.2, 1.2, 1.3}) {
		t.Errorf("roundRatios = %v, want each round's own ratio", got)
	}
	for _, tt := range []struct {
		rounds []float64
		mark   string
		says   string
	}{
		{[]float64{1.3, 1.2, 1.2}, "✓", "1.20×, median of 3 rounds' ratios (1.20–1.30×)"},
		{[]float64{1.7, 1.4, 1.6}, "✗", "1.60×, median of 3 rounds' ratios (1.40–1.70×)"},
		{[]float64{1.2, 0.97, 1.1}, "✓", "1.10×, median of 3 rounds' ratios (0.97–1.20×)"},
		{[]float64{1.6}, "✗", "1.60×, 1 round's ratio (1.60–1.60×)"},
		{nil, "✗", "no rounds"},
	} {
		rw := roundRatio("page", tt.rounds, 1.5)
		if rw.mark != tt.mark || !strings.Contains(rw.measured, tt.says) {
			t.Errorf("roundRatio(%v) = %q %s, want %s and %q", tt.rounds, rw.measured, rw.mark, tt.mark, tt.says)
		}
	}
}

// A c=1 ratio sets each round's p50s against each other: a page 1.2× its
// read in every round is 1.2×, though the machine doubled its speed
// between rounds, and a round where a kind had no counted call is left out.
func TestOverIsPerRound(t *testing.T) {
	ms := func(vs ...float64) latency {
		var l latency
		for _, v := range vs {
			l.Rounds = append(l.Rounds, time.Duration(v*float64(time.Millisecond)))
		}
		return l
	}
	page, read, hop := ms(1.2, 2.4, 2.4, 9), ms(1, 2, 2, 0), ms(0.2, 0.4, 0.4, 0.4)
	if got := over(page, read); math.Abs(got-1.2) > 1e-9 {
		t.Errorf("page ÷ read = %v, want 1.2", got)
	}
	if got := over(page, read, hop); math.Abs(got-1.0) > 1e-9 {
		t.Errorf("page ÷ (read + hop) = %v, want 1", got)
	}
}
