package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// latency is what a run of one-at-a-time calls measured: over all its
// counted calls, and the p50 of each counted round (0 for a round where
// none was counted).
type latency struct {
	N        int
	P50, P99 time.Duration
	Rounds   []time.Duration
}

// p50 is the p50 of calls, sorted.
func p50(calls []time.Duration) time.Duration {
	if len(calls) == 0 {
		return 0
	}
	return calls[(len(calls)-1)/2]
}

// over is the ratio of num's p50 to the sum of dens' p50s, round by round,
// and its median over the rounds: each ratio sets calls against those of
// the same stretch of the machine.
func over(num latency, dens ...latency) float64 {
	rounds := make([][]time.Duration, len(dens))
	for i, d := range dens {
		rounds[i] = d.Rounds
	}
	return median(roundRatios(num.Rounds, rounds...))
}

// roundRatios is num ÷ the sum of dens in each round where all of them
// were measured (0 is a round not measured): ratios of figures taken in the
// same round, as the medians of each may come from different rounds.
func roundRatios[T time.Duration | float64](num []T, dens ...[]T) []float64 {
	var rs []float64
	for i, n := range num {
		var sum T
		for _, d := range dens {
			if i >= len(d) || d[i] == 0 {
				sum = 0
				break
			}
			sum += d[i]
		}
		if n > 0 && sum > 0 {
			rs = append(rs, float64(n)/float64(sum))
		}
	}
	return rs
}

// A c1Call is one kind of call of the one-at-a-time (c=1) measurement.
type c1Call struct {
	name string
	call func() error
	into *latency // where the bench keeps what inTurn measured of it
}

// inTurn makes the calls one at a time, the kinds taking turns in blocks
// of time of one kind each, for warm rounds and then for counted rounds,
// and returns each kind's latencies over the counted rounds, in the order
// of calls. In a round every kind has one block, in an order shuffled anew
// each round (from a fixed seed, so runs are alike), so that no kind always
// follows the same other. Turns put every kind in the same stretches of the
// machine, whose speed drifts by tens of percent over a minute, so their
// ratios do not move with it; a block keeps one kind's calls back to back,
// as a run of that kind alone would, and its first tenth is not counted,
// while the parts that kind did not call settle. A failed call ends it.
func inTurn(ctx context.Context, warm, counted int, block time.Duration, calls []c1Call) ([]latency, error) {
	lat := make([][]time.Duration, len(calls))
	rounds := make([][]time.Duration, len(calls)) // each counted round's p50
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	shuffle := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < warm+counted && ctx.Err() == nil; round++ {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			c := calls[i]
			from := len(lat[i])
			start := time.Now()
			settled, blockEnd := start.Add(block/10), start.Add(block)
			for t0 := start; t0.Before(blockEnd) && ctx.Err() == nil; t0 = time.Now() {
				err := c.call()
				took := time.Since(t0)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				if round >= warm && !t0.Before(settled) {
					lat[i] = append(lat[i], took)
				}
			}
			if round >= warm {
				rounds[i] = append(rounds[i], p50(slices.Sorted(slices.Values(lat[i][from:]))))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]latency, len(calls))
	for i, l := range lat {
		if len(l) == 0 {
			return nil, fmt.Errorf("%s: no call finished", calls[i].name)
		}
		slices.Sort(l)
		res[i] = latency{N: len(l), P50: p50(l), P99: l[(len(l)-1)*99/100], Rounds: rounds[i]}
	}
	return res, nil
}

// The row of the bare point read.
const floorTable, floorPartition, floorRow = "benchfloor", "p", "session"

// floorRead makes the row of the bare point read and returns the read: the
// Table Storage SDK reading it with no HTTP server, session or page around
// it.
func floorRead(ctx context.Context, s *parts) (func() error, error) {
	svc, err := aztables.NewServiceClientFromConnectionString(tableConnection(s.tableEndpoint()), &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := svc.CreateTable(ctx, floorTable, nil); err != nil {
		return nil, fmt.Errorf("creating a table: %w", err)
	}
	table := svc.NewClient(floorTable)
	row, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: floorPartition, RowKey: floorRow},
		Properties: map[string]any{"Data": aztables.EDMBinary(make([]byte, 1500))}})
	if err != nil {
		return nil, err
	}
	if _, err := table.AddEntity(ctx, row, nil); err != nil {
		return nil, err
	}
	return func() error {
		_, err := table.GetEntity(ctx, floorPartition, floorRow, nil)
		return err
	}, nil
}

// sessionRow returns the keys of the one session row in the table: the
// row of the one user signed in so far, which their pages read.
func sessionRow(ctx context.Context, s *parts) (partition, row string, err error) {
	svc, err := aztables.NewServiceClientFromConnectionString(tableConnection(s.tableEndpoint()), nil)
	if err != nil {
		return "", "", err
	}
	filter := "RowKey eq 'session'"
	var rows [][]byte
	pager := svc.NewClient(sessionTable).NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", "", fmt.Errorf("finding the session row: %w", err)
		}
		rows = append(rows, page.Entities...)
	}
	if len(rows) != 1 {
		return "", "", fmt.Errorf("%d session rows after one sign-in, want 1", len(rows))
	}
	var e aztables.Entity
	if err := json.Unmarshal(rows[0], &e); err != nil {
		return "", "", err
	}
	return e.PartitionKey, e.RowKey, nil
}

// startReadServer starts cmd/bench/readserver on one row and returns the
// URL whose GET reads it with the SDK's leanest GetEntity, so a page can
// be set against the same read made by a Go server that does nothing else.
func startReadServer(ctx context.Context, s *parts, table, partition, row string) (string, *proc, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	env := append(os.Environ(), "READSERVER_TABLE_CONNECTION_STRING="+tableConnection(s.tableEndpoint()))
	p, err := start("the read server", filepath.Join(s.dir, "readserver-"+table+".log"), env, filepath.Join(s.dir, "readserver"),
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-table", table, "-partition", partition, "-row", row)
	if err != nil {
		return "", nil, err
	}
	u := fmt.Sprintf("http://127.0.0.1:%d/read", port)
	probe := &http.Client{Timeout: 5 * time.Second}
	err = waitFor(ctx, p, func() bool {
		resp, err := probe.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err != nil {
		p.stop()
		return "", nil, err
	}
	return u, p, nil
}

// getOK is a GET of u with c that must answer 200, with a body holding
// each of want; header, if set, is sent with it.
func getOK(ctx context.Context, c *http.Client, u string, header http.Header, want ...string) func() error {
	var body bytes.Buffer
	return func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		maps.Copy(req.Header, header)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body.Reset()
		if _, err := body.ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
		}
		for _, w := range want {
			if !bytes.Contains(body.Bytes(), []byte(w)) {
				return fmt.Errorf("GET %s: no %q in the page", u, w)
			}
		}
		return nil
	}
}

// routeCalls is the Table Storage calls of one step of a browse.
type routeCalls struct {
	Name          string
	Calls, Budget int
	ByMethod      map[string]int
}

// countTableCalls browses as TestTableCallsPerRoute does, against a handler
// whose Table Storage requests go through a counting proxy, and counts
// them on the wire the same way: one per HTTP request to Azurite.
func countTableCalls(ctx context.Context, s *parts) ([]routeCalls, error) {
	target, err := url.Parse(s.tableEndpoint())
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		calls map[string]int
	)
	take := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		c := calls
		calls = map[string]int{}
		return c
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	take()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method]++
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	endpoint := strings.Replace(s.tableEndpoint(), target.Host, ln.Addr().String(), 1)
	h, err := s.startHandler(ctx, "the handler behind a counting proxy", endpoint)
	if err != nil {
		return nil, err
	}
	defer h.stop()
	time.Sleep(200 * time.Millisecond) // let start-up create its table
	take()

	c, base := newClient(), s.base
	steps := []struct {
		name   string
		budget int
		run    func() error
	}{
		{"GET / signed out", 0, func() error { _, err := do(ctx, c, "GET", base+"/", nil, 200); return err }},
		{"GET /anonymous signed out", 0, func() error { _, err := do(ctx, c, "GET", base+"/anonymous", nil, 200); return err }},
		{"GET /login, three times", 0, func() error {
			for range 3 {
				if _, err := do(ctx, newClient(), "GET", base+"/login", nil, 302); err != nil {
					return err
				}
			}
			return nil
		}},
		{"sign-in (/login and /getAToken)", 2, func() error { return signIn(ctx, c, base) }},
		{"GET / signed in", 1, func() error { _, err := do(ctx, c, "GET", base+"/", nil, 200); return err }},
		{"GET /graphcall, token from cache", 2, func() error { _, err := do(ctx, c, "GET", base+"/graphcall", nil, 200); return err }},
		{"GET /graphcall again, token held by the process", 1, func() error { _, err := do(ctx, c, "GET", base+"/graphcall", nil, 200); return err }},
		{"POST /logout", 2, func() error { _, err := do(ctx, c, "POST", base+"/logout", url.Values{}, 302, 303); return err }},
	}
	var out []routeCalls
	for _, st := range steps {
		if err := st.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		by := take()
		n := 0
		for _, v := range by {
			n += v
		}
		out = append(out, routeCalls{Name: st.name, Calls: n, Budget: st.budget, ByMethod: by})
	}
	return out, nil
}

// coldStarts starts the handler n times, each on a port of its own, and
// returns the times from process start to the first 200 on GET /, sorted.
func coldStarts(ctx context.Context, s *parts, n int) ([]time.Duration, error) {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var times []time.Duration
	for i := range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		u := fmt.Sprintf("http://127.0.0.1:%d/", port)
		t0 := time.Now()
		h, err := start("a handler started cold", filepath.Join(s.dir, fmt.Sprintf("cold-start-%d.log", i)), s.handlerEnv(port, s.tableEndpoint()), s.handlerBin)
		if err != nil {
			return nil, err
		}
		var d time.Duration
		for {
			if h.exited() || ctx.Err() != nil || time.Since(t0) > 10*time.Second {
				h.stop()
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				return nil, fmt.Errorf("a handler started cold did not answer GET / within 10 s; the end of its log:\n%s", h.tail())
			}
			if resp, err := c.Get(u); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					d = time.Since(t0)
					break
				}
			}
			time.Sleep(500 * time.Microsecond)
		}
		h.stop()
		times = append(times, d)
	}
	slices.Sort(times)
	return times, nil
}

// procStatus reads a memory figure of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeak resets the process's VmHWM to its current RSS (clear_refs 5).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
