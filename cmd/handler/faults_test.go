package main

// Faults: the app scaled out to two processes, Table Storage restarting,
// B2C slow, hung or down, and clocks that disagree. Every bound a test
// holds a request to comes from the product's own settings: the table
// client's retry policy (auth/env.go, tableFromEnv) and the 10 s timeout of
// the HTTP client that reaches B2C (auth/env.go, httpClientTrusting). The
// tests spend most of their time waiting (for MSAL's refresh window, for
// a timeout), so they run in parallel with each other.

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

const (
	// b2cTimeout is the timeout of the handler's HTTP client for B2C.
	b2cTimeout = 10 * time.Second
	// tableBound is the longest a Table Storage call may take under the
	// handler's retry policy: three tries of at most 5 s (TryTimeout), two
	// waits of at most 1 s (MaxRetryDelay) between them.
	tableBound = 3*5*time.Second + 2*time.Second
	// grace is what a test adds to a bound for the rest of the request
	// (page rendering, the race detector, a busy machine).
	grace = 5 * time.Second
)

// TestScaleOut runs two handler processes on one table and one emulator
// behind a front end that sends each request to the next process in turn,
// as the Functions host does once the app has scaled out. Nothing is
// shared but the table: a sign-in started on one process completes on the
// other, a session and its token cache serve both, a refresh made by one is
// used by the other, and 20 concurrent refreshes of one session spread over
// both lose no update and leave exactly the expected rows.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	bin := buildHandler(t)
	az := testenv.SharedAzurite(t)
	front := newFrontEnd(t)
	// MSAL refreshes an access token once it is within 5 minutes of
	// expiry: one of 305 s is used for 5 s, then refreshed. A check that
	// a token was used without a refresh holds only while it is fresh;
	// on a machine too slow for that it is logged, not failed.
	const lifetime = 305 * time.Second
	fresh := lifetime - 5*time.Minute
	pastRefreshWindow := func(issuedBy time.Time) { time.Sleep(time.Until(issuedBy.Add(fresh + 500*time.Millisecond))) }
	stillFresh := func(issuedAfter time.Time, what string) bool {
		if time.Since(issuedAfter) < fresh {
			return true
		}
		t.Logf("not checked, the machine was too slow: %s", what)
		return false
	}
	emu, env := startEmulator(t, appOptions{accessTokenLifetime: lifetime}, front.URL)
	tableName, table := az.NewTable(t)
	env["SESSION_TABLE_CONNECTION_STRING"] = az.ConnectionString()
	env["SESSION_TABLE_NAME"] = tableName
	a := startHandlerBinary(t, bin, emu, env)
	b := startHandlerBinary(t, bin, emu, env)
	front.setBackends(a.URL, b.URL)
	app := &testApp{URL: front.URL, Emu: emu, Table: table}

	// A sign-in started on one process completes on the other.
	c := testenv.NewBrowser(t)
	signingIn := time.Now() // the tokens are issued after this
	if got := testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID).Location; got != "/" && got != app.URL+"/" {
		t.Fatalf("after sign-in: Location %q, want /", got)
	}
	signedIn := time.Now() // and before this
	login, callback := front.last("/login"), front.last("/getAToken")
	if login.Backend == callback.Backend {
		t.Fatalf("/login and /getAToken both went to process %d: the front end did not alternate", login.Backend)
	}
	t.Logf("sign-in started on process %d, completed on process %d", login.Backend, callback.Backend)

	// The session and its token cache serve both processes.
	mark := front.mark()
	for range 2 {
		if home := testenv.Do(t, c, "GET", app.URL+"/", nil); home.Status != 200 || !strings.Contains(html.UnescapeString(home.Body), "Welcome, Alice Example") {
			t.Fatalf("signed-in home: %d\n%s", home.Status, home.Body)
		}
		if r := graphcall(t, app, c); r.Status != 200 {
			t.Fatalf("/graphcall from the cache: %d\n%s", r.Status, r.Body)
		}
	}
	if n := front.backendsSince(mark); n[0] == 0 || n[1] == 0 {
		t.Fatalf("requests per process %v: both should have served the session", n)
	}
	if n := tokenCalls(app); n["refresh_token"] != 0 && stillFresh(signingIn, "the token of the sign-in serves both processes") {
		t.Fatalf("token calls %v: the token cached at sign-in should serve both processes", n)
	}

	// A refresh made by one process is used by the other.
	pastRefreshWindow(signedIn)
	mark = front.mark()
	refreshing := time.Now()
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall past the refresh window: %d\n%s", r.Status, r.Body)
	}
	refreshed := time.Now()
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall after the refresh: %d\n%s", r.Status, r.Body)
	}
	if n := front.backendsSince(mark); n[0] != 1 || n[1] != 1 {
		t.Fatalf("requests per process %v, want one each", n)
	}
	switch n := tokenCalls(app)["refresh_token"]; {
	case n == 0:
		t.Fatal("no refresh past the refresh window")
	case n > 1 && stillFresh(refreshing, "the refresh of one process serves the other"):
		t.Fatalf("%d refreshes: one process refreshed, the other should have used its tokens", n)
	}

	// Sign-ins of other visitors at the same time, each crossing between
	// the processes as the front end pleases, and their sign-outs: no state
	// mismatch, no error.
	const others = 6
	var wg sync.WaitGroup
	failures := make(chan string, 2*others)
	for i := range others {
		wg.Go(func() {
			oc := testenv.NewBrowser(t)
			if _, err := testenv.TrySignIn(oc, app.URL+"/login", bob.ObjectID); err != nil {
				failures <- fmt.Sprintf("sign-in %d: %v", i, err)
				return
			}
			r, err := testenv.TryDo(oc, "POST", app.URL+"/logout", url.Values{})
			if err != nil || r.Status != http.StatusSeeOther {
				failures <- fmt.Sprintf("sign-out %d: %d %v", i, r.Status, err)
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}

	// 20 concurrent refreshes of one session, spread over both processes.
	pastRefreshWindow(refreshed)
	before := tokenCalls(app)["refresh_token"]
	mark = front.mark()
	racing := time.Now()
	statuses := make(chan testenv.Response, 20)
	for range 20 {
		wg.Go(func() {
			r, err := testenv.TryDo(c, "GET", app.URL+"/graphcall", nil)
			if err != nil {
				r.Body = err.Error()
			}
			statuses <- r
		})
	}
	wg.Wait()
	close(statuses)
	for r := range statuses {
		if r.Status != 200 {
			t.Errorf("concurrent /graphcall: %d\n%.400s", r.Status, r.Body)
		}
	}
	perProcess := front.backendsSince(mark)
	raced := tokenCalls(app)["refresh_token"] - before
	t.Logf("20 concurrent refreshes: %v requests per process, %d refresh_token grants", perProcess, raced)
	if perProcess[0] == 0 || perProcess[1] == 0 {
		t.Errorf("requests per process %v: the race should span both", perProcess)
	}
	if raced < 1 {
		t.Errorf("%d refresh_token grants: the race should have refreshed", raced)
	}
	// No update lost: the cache holds the fresh tokens of the race, so the
	// next call, on either process, needs no refresh.
	for range 2 {
		if r := graphcall(t, app, c); r.Status != 200 {
			t.Fatalf("/graphcall after the race: %d\n%s", r.Status, r.Body)
		}
	}
	if n := tokenCalls(app)["refresh_token"] - before; n != raced && stillFresh(racing, "the cache holds the race's tokens") {
		t.Errorf("%d more refreshes after the race: the stored cache lost the race's tokens", n-raced)
	}
	// Exactly one session with its cache, and the mark of every sign-in's
	// state; the visitors who signed out left nothing else.
	want := map[string]int{"session": 1, "tokencache": 1, "used": 1 + others}
	if got := testenv.Rows(t, table); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestStorageRestart stops Azurite, with its data on disk, while signed-in
// visitors load pages, and starts it again. During the outage a page that
// needs the session gets the 503 page with Retry-After, within the table
// client's retry bound; a page that needs none works. Afterwards every
// session works again, those created the moment before the stop too (Stop
// sends SIGINT, on which Azurite saves: killed without it, Azurite loses
// what it was given since its last autosave, tables included), and no
// request outside the outage failed.
func TestStorageRestart(t *testing.T) {
	t.Parallel()
	az := testenv.NewAzurite(t)
	app := startApp(t, appOptions{azurite: az})
	var visitors []*visitor
	for i := range 6 {
		visitors = append(visitors, newVisitor(t, app, []emulator.User{alice, bob}[i%2]))
	}
	reqs := &requestLog{}
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for _, v := range visitors {
		wg.Go(func() { v.load(app.URL, []string{"/", "/private", "/graphcall"}, reqs, stopLoad) })
	}
	anon := &visitor{c: testenv.NewBrowser(t)}
	wg.Go(func() { anon.load(app.URL, []string{"/", "/anonymous", "/healthz"}, reqs, stopLoad) })
	stopAll := sync.OnceFunc(func() { close(stopLoad); wg.Wait() })
	t.Cleanup(stopAll)

	reqs.waitFor(t, func(n requestCounts) bool { return n.ok >= 50 }, "50 pages before the stop")
	// Created the moment before the stop: only the save on SIGINT keeps
	// them.
	late := []*visitor{newVisitor(t, app, alice), newVisitor(t, app, bob)}

	stopBegin := time.Now()
	az.Stop()
	reqs.waitFor(t, func(n requestCounts) bool { return n.unavailable >= 2*len(visitors) }, "503s during the outage")
	if err := az.Start(); err != nil {
		t.Fatal(err)
	}
	startEnd := time.Now()
	reqs.waitFor(t, func(n requestCounts) bool { return n.okAfter(startEnd) >= 3*len(visitors) }, "pages after the restart")
	stopAll()

	// Every session created before the stop works, with its token cache.
	lost := 0
	for _, v := range append(visitors, late...) {
		home := testenv.Do(t, v.c, "GET", app.URL+"/", nil)
		api := graphcall(t, app, v.c)
		if !strings.Contains(html.UnescapeString(home.Body), "Welcome, "+v.user.Name) || api.Status != 200 {
			lost++
			t.Errorf("a session of %s after the restart: home %d, /graphcall %d", v.user.Name, home.Status, api.Status)
		}
	}

	window := faultWindow{"storage outage", stopBegin, startEnd}
	outage, other := reqs.split(window)
	var unavailable int
	var slowestTook time.Duration
	for _, r := range outage {
		switch {
		case r.Status == http.StatusOK && !r.SignedOut:
		case r.Status == http.StatusServiceUnavailable:
			unavailable++
			if r.RetryAfter == "" || !strings.Contains(r.Body, "Service unavailable") {
				t.Errorf("%s during the outage: 503 without the page or Retry-After (%q)\n%.300s", r.Path, r.RetryAfter, r.Body)
			}
			slowestTook = max(slowestTook, r.End.Sub(r.Start))
		default:
			t.Errorf("%s during the outage: %d (signed out: %v), want 200 or the 503 page\n%.300s", r.Path, r.Status, r.SignedOut, r.Body)
		}
	}
	for _, r := range other {
		if r.Status != http.StatusOK || r.SignedOut {
			t.Errorf("%s outside the outage: %d (signed out: %v)\n%.300s", r.Path, r.Status, r.SignedOut, r.Body)
		}
	}
	t.Logf("outage of %v: %d requests during it, %d of them the 503 page (slowest %v, bound %v); %d requests outside it; sessions lost: %d of %d",
		startEnd.Sub(stopBegin).Round(time.Millisecond), len(outage), unavailable, slowestTook.Round(time.Millisecond), tableBound, len(other), lost, len(visitors)+len(late))
	if unavailable == 0 {
		t.Error("no request saw the outage")
	}
	if slowestTook > tableBound+grace {
		t.Errorf("a 503 took %v, beyond the retry policy's %v", slowestTook, tableBound)
	}
}

// TestB2CSlowOrDown puts a TCP proxy in front of the emulator's TLS
// endpoints (discovery, keys, token), which the handler reaches with a
// client whose timeout is 10 s. Slow: sign-in works. Hung: the callback
// answers the "Sign-in service unreachable" page within that timeout, and
// the signed-in pages that need no token from B2C keep working meanwhile.
// Down: the same page at once. Back: sign-in works again.
func TestB2CSlowOrDown(t *testing.T) {
	t.Parallel()
	proxy, viaProxy := b2cBehindProxy(t)
	app := startApp(t, appOptions{emulator: viaProxy})
	if app.Emu.TLSHost() != "localhost:"+proxy.Port() {
		t.Fatalf("the emulator advertises %s, not the proxy's port %s", app.Emu.TLSHost(), proxy.Port())
	}
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	if proxy.Accepted() == 0 {
		t.Fatal("the handler reached B2C around the proxy")
	}
	sessions := 1

	t.Run("slow", func(t *testing.T) {
		proxy.SetMode(testenv.Delay, 500*time.Millisecond)
		defer proxy.SetMode(testenv.Pass, 0)
		start := time.Now()
		testenv.SignIn(t, testenv.NewBrowser(t), app.URL+"/login", bob.ObjectID)
		sessions++
		took := time.Since(start)
		t.Logf("sign-in with B2C answering 500 ms late: %v", took.Round(time.Millisecond))
		if took < 500*time.Millisecond {
			t.Errorf("sign-in took %v: the proxy did not slow B2C down", took)
		}
	})

	// signedInPages are pages that need the session but no call to B2C,
	// and /readyz, served from the discovery cache: they must answer while
	// B2C does not.
	signedInPages := func(t *testing.T, during string) {
		for _, path := range []string{"/", "/private", "/graphcall", "/anonymous", "/healthz", "/readyz"} {
			start := time.Now()
			r, err := testenv.TryDo(c, "GET", app.URL+path, nil)
			took := time.Since(start)
			switch {
			case err != nil:
				t.Errorf("%s while B2C is %s: %v", path, during, err)
			case r.Status != 200:
				t.Errorf("%s while B2C is %s: %d\n%.300s", path, during, r.Status, r.Body)
			case took >= b2cTimeout:
				t.Errorf("%s while B2C is %s took %v: it waited for B2C", path, during, took)
			}
		}
	}

	// A second app that has not called B2C yet: its discovery cache is
	// cold, so starting a sign-in needs B2C.
	coldProxy, coldViaProxy := b2cBehindProxy(t)
	cold := startApp(t, appOptions{emulator: coldViaProxy})

	for _, tc := range []struct {
		name string
		mode testenv.FaultMode
	}{{"hung", testenv.Hang}, {"down", testenv.Drop}} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.SetMode(tc.mode, 0)
			defer proxy.SetMode(testenv.Pass, 0)
			coldProxy.SetMode(tc.mode, 0)
			defer coldProxy.SetMode(testenv.Pass, 0)
			// Starting a sign-in needs no call to B2C once its discovery
			// document is cached.
			nc := testenv.NewBrowser(t)
			action, tx := testenv.StartSignIn(t, nc, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, nc, action, tx, url.Values{"action": {"user"}, "user": {bob.ObjectID}})

			// Each request that needs B2C, at once; a client that waits
			// past the bound shows a request the bound did not hold.
			bounded := testenv.NewBrowser(t)
			bounded.Timeout = b2cTimeout + grace
			type result struct {
				name string
				r    testenv.Response
				err  error
				took time.Duration
			}
			results := make(chan result, 3)
			for name, u := range map[string]string{"callback": cb, "cold readyz": cold.URL + "/readyz", "cold login": cold.URL + "/login"} {
				c := bounded
				if name == "callback" {
					c = withJar(bounded, nc.Jar)
				}
				go func() {
					start := time.Now()
					r, err := testenv.TryDo(c, "GET", u, nil)
					results <- result{name, r, err, time.Since(start)}
				}()
			}
			signedInPages(t, tc.name)

			for range 3 {
				got := <-results
				t.Logf("%s with B2C %s: %d in %v", got.name, tc.name, got.r.Status, got.took.Round(time.Millisecond))
				wantStatus, wantText := http.StatusBadGateway, "Sign-in service unreachable"
				if got.name == "cold readyz" {
					wantStatus, wantText = http.StatusServiceUnavailable, "not ready: sign-in service"
				}
				switch {
				case got.err != nil:
					// A hung B2C must not hold the request: the app's own
					// discovery fetches (for /readyz and the sign-in routes
					// alike) carry the client's timeout, though they go
					// through the cache's transport, not the client.
					t.Errorf("%s with B2C %s: no answer within %v, the B2C client's timeout and some grace: %v", got.name, tc.name, bounded.Timeout, got.err)
				case got.r.Status != wantStatus || !strings.Contains(got.r.Body, wantText):
					t.Errorf("%s with B2C %s: %d, want %d %q\n%.400s", got.name, tc.name, got.r.Status, wantStatus, wantText, got.r.Body)
				}
			}
		})
	}

	t.Run("back", func(t *testing.T) {
		testenv.SignIn(t, testenv.NewBrowser(t), app.URL+"/login", bob.ObjectID)
		sessions++
		signedInPages(t, "back")
	})

	// The failed callbacks stored no session; every callback marked its
	// state used.
	if n := testenv.Rows(t, app.Table); n["session"] != sessions || n["tokencache"] != sessions || n["used"] != sessions+2 {
		t.Errorf("rows %v, want %d sessions with their caches and %d used marks", n, sessions, sessions+2)
	}
}

// TestClockSkew signs in with the emulator's clock ahead of or behind the
// handler's. go-oidc (v3, Verify) allows an nbf up to 5 minutes in the
// future and no leeway on exp, and does not check iat; so B2C's clock may
// run up to 5 minutes ahead, and behind by up to the ID token's lifetime
// (the emulator's default, B2C's: 1 h). Beyond, the callback's page says
// why.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	const (
		leeway     = 5 * time.Minute // go-oidc's, on nbf
		idLifetime = time.Hour       // the emulator's default ID token lifetime
	)
	var skew atomic.Int64
	app := startApp(t, appOptions{emulator: func(c *emulator.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	for _, tc := range []struct {
		name string
		skew time.Duration
		// fails is what the page's description says, "" when the
		// sign-in passes.
		fails *regexp.Regexp
	}{
		{"ahead within the leeway", leeway - 30*time.Second, nil},
		{"ahead beyond the leeway", leeway + 30*time.Second, regexp.MustCompile(`not valid: .*before the nbf \(not before\) time`)},
		{"behind within the lifetime", -(idLifetime - 30*time.Second), nil},
		{"behind beyond the lifetime", -(idLifetime + 30*time.Second), regexp.MustCompile(`not valid: .*token is expired`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skew.Store(int64(tc.skew))
			c := testenv.NewBrowser(t)
			action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
			r := testenv.Do(t, c, "GET", cb, nil)
			if tc.fails == nil {
				if r.Status != http.StatusSeeOther {
					t.Fatalf("callback with B2C's clock %v off: %d\n%s", tc.skew, r.Status, r.Body)
				}
				if home := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(html.UnescapeString(home.Body), "Welcome, Alice Example") {
					t.Fatalf("home after sign-in with B2C's clock %v off:\n%s", tc.skew, home.Body)
				}
				return
			}
			desc := regexp.MustCompile(`<span id="error-description">([^<]*)</span>`).FindStringSubmatch(r.Body)
			if r.Status != http.StatusBadRequest || desc == nil || !tc.fails.MatchString(html.UnescapeString(desc[1])) {
				t.Fatalf("callback with B2C's clock %v off: %d, want 400 with a description matching %q\n%s", tc.skew, r.Status, tc.fails, r.Body)
			}
			d := html.UnescapeString(desc[1])
			t.Logf("B2C's clock %v off: %q", tc.skew, d)
			// The description is go-oidc's error text, with the clock
			// formatted in it: never Go's monotonic reading, the
			// process's uptime ("m=+49.42").
			if strings.Contains(d, " m=+") || strings.Contains(d, " m=-") {
				t.Errorf("the page's description shows Go's monotonic clock reading: %q", d)
			}
		})
	}
}

// b2cBehindProxy returns a fault proxy and the emulator option that puts
// the emulator's TLS listener behind it: the emulator listens on 127.0.0.2
// with the proxy's port, so the host it advertises in its discovery
// documents, localhost:port, is the proxy's, and every call the handler
// makes to B2C's endpoints crosses the proxy.
func b2cBehindProxy(t testing.TB) (*testenv.FaultProxy, func(*emulator.Config)) {
	t.Helper()
	proxy := testenv.NewFaultProxy(t, func(port string) string { return "127.0.0.2:" + port })
	return proxy, func(c *emulator.Config) { c.TLSAddr = proxy.Target() }
}

// withJar is c with the cookies of jar.
func withJar(c *http.Client, jar http.CookieJar) *http.Client {
	cc := *c
	cc.Jar = jar
	return &cc
}

// A visitor is a browser with a session of its own.
type visitor struct {
	c    *http.Client
	user emulator.User
}

func newVisitor(t *testing.T, app *testApp, user emulator.User) *visitor {
	t.Helper()
	v := &visitor{c: testenv.NewBrowser(t), user: user}
	testenv.SignIn(t, v.c, app.URL+"/login", user.ObjectID)
	return v
}

// load has the visitor load paths in turn until stop is closed, recording
// every request in reqs.
func (v *visitor) load(base string, paths []string, reqs *requestLog, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		path := paths[i%len(paths)]
		r := pageRequest{Path: path, Start: time.Now(), Cookie: v.user.ObjectID != ""}
		resp, err := v.c.Get(base + path)
		if err != nil {
			r.Body = err.Error()
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.Status, r.Body, r.RetryAfter = resp.StatusCode, string(b), resp.Header.Get("Retry-After")
			r.SignedOut = clearsSession(resp.Header) || r.Cookie && path == "/" && resp.StatusCode == 200 &&
				!strings.Contains(html.UnescapeString(r.Body), "Welcome, "+v.user.Name)
		}
		r.End = time.Now()
		reqs.add(r)
		time.Sleep(5 * time.Millisecond) // a visitor, not a benchmark
	}
}

// clearsSession reports whether a testenv.Response deletes the session cookie: the
// visitor is signed out.
func clearsSession(h http.Header) bool {
	for _, line := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == "__Host-session" && (c.MaxAge < 0 || c.Value == "") {
			return true
		}
	}
	return false
}

type pageRequest struct {
	Path       string
	Start, End time.Time
	Status     int // 0: no testenv.Response
	Body       string
	RetryAfter string
	// Cookie: the visitor has a session; SignedOut: the answer signed
	// the visitor out.
	Cookie, SignedOut bool
}

type requestLog struct {
	mu   sync.Mutex
	reqs []pageRequest
}

func (l *requestLog) add(r pageRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

type requestCounts struct {
	ok, unavailable int
	okAt            []time.Time
}

func (n requestCounts) okAfter(t time.Time) int {
	c := 0
	for _, at := range n.okAt {
		if at.After(t) {
			c++
		}
	}
	return c
}

// waitFor waits until the counts satisfy cond, for at most a minute.
func (l *requestLog) waitFor(t *testing.T, cond func(requestCounts) bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var n requestCounts
		l.mu.Lock()
		for _, r := range l.reqs {
			switch r.Status {
			case http.StatusOK:
				n.ok++
				n.okAt = append(n.okAt, r.Start)
			case http.StatusServiceUnavailable:
				n.unavailable++
			}
		}
		l.mu.Unlock()
		if cond(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s: %d pages, %d 503s", what, n.ok, n.unavailable)
		}
	}
}

// A faultWindow is when a fault was in force.
type faultWindow struct {
	Name       string
	Start, End time.Time
}

// overlaps reports whether a request from start to end overlapped w.
func (w faultWindow) overlaps(start, end time.Time) bool {
	return start.Before(w.End) && end.After(w.Start)
}

// split parts the requests into those that overlapped the window and the
// others.
func (l *requestLog) split(w faultWindow) (in, out []pageRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.reqs {
		if w.overlaps(r.Start, r.End) {
			in = append(in, r)
		} else {
			out = append(out, r)
		}
	}
	return in, out
}

// frontEnd is a reverse proxy on loopback in front of handler processes,
// in the place of the Functions host's front end: it sends each request to
// the next process in turn, keeps the Host header, and records what each
// request got.
type frontEnd struct {
	URL string

	mu       sync.Mutex
	backends []*httputil.ReverseProxy
	next     int
	served   []frontRequest
}

type frontRequest struct {
	Method, Path string
	Backend      int
	Start, End   time.Time
	Status       int
	Location     string
	// SignedOut: the answer deleted the session cookie.
	SignedOut bool
	// Cancelled: the client gave up before the answer.
	Cancelled bool
}

func newFrontEnd(t testing.TB) *frontEnd {
	f := &frontEnd{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return f
}

func (f *frontEnd) setBackends(urls ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range urls {
		target, _ := url.Parse(u)
		f.backends = append(f.backends, &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = r.In.Host
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, "front end: %v", err)
			},
		})
	}
}

func (f *frontEnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if len(f.backends) == 0 {
		f.mu.Unlock()
		http.Error(w, "no backend yet", http.StatusServiceUnavailable)
		return
	}
	i := f.next % len(f.backends)
	f.next++
	proxy := f.backends[i]
	f.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w}
	fr := frontRequest{Method: r.Method, Path: r.URL.Path, Backend: i, Start: time.Now()}
	proxy.ServeHTTP(rec, r)
	fr.End, fr.Status = time.Now(), rec.status
	fr.Location, fr.SignedOut = rec.Header().Get("Location"), clearsSession(rec.Header())
	fr.Cancelled = r.Context().Err() != nil
	f.mu.Lock()
	f.served = append(f.served, fr)
	f.mu.Unlock()
}

// last is the last request the front end served for path.
func (f *frontEnd) last(path string) frontRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.served) - 1; i >= 0; i-- {
		if f.served[i].Path == path {
			return f.served[i]
		}
	}
	return frontRequest{Backend: -1}
}

// mark and backendsSince count the requests each backend served from a
// point on.
func (f *frontEnd) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.served)
}

func (f *frontEnd) backendsSince(mark int) map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[int]int{}
	for _, r := range f.served[mark:] {
		n[r.Backend]++
	}
	return n
}

func (f *frontEnd) requests() []frontRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]frontRequest(nil), f.served...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// handlerProcess is the handler binary running as a process of its own.
type handlerProcess struct {
	URL string // its own origin, http://localhost:PORT
	Pid int
	Log *testenv.Log

	cmd  *exec.Cmd
	done chan error
	// quit: ended by quitWithStacks, whose dump starts at dumpFrom in
	// the log.
	quit     bool
	dumpFrom int
}

// startHandlerBinary runs bin with env (and a port of its own), and stops
// it with SIGTERM when the test ends. Its environment is only env.
func startHandlerBinary(t *testing.T, bin string, emu *emulator.Server, env map[string]string) *handlerProcess {
	t.Helper()
	port := testenv.FreePort(t)
	p := &handlerProcess{URL: fmt.Sprintf("http://localhost:%d", port), Log: &testenv.Log{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Env = append(p.cmd.Env, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port))
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.Pid = p.cmd.Process.Pid
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.quit {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("handler: %v", err)
				}
			case <-time.After(15 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
				t.Error("handler did not stop within 15s of SIGTERM")
			}
		}
		log := p.Log.String()
		if p.quit {
			log = log[:p.dumpFrom]
		}
		if strings.Contains(log, "WARNING: DATA RACE") {
			t.Error("the handler had a data race")
		}
		secrets := []string{testSecret, "code=", "eyJ", "__Host-"}
		if issued := emu.Issued(); len(issued)*len(log) < 1e9 {
			secrets = append(secrets, issued...)
		}
		for _, secret := range secrets {
			if strings.Contains(log, secret) {
				t.Errorf("the log holds %.40q", secret)
			}
		}
		if t.Failed() {
			t.Logf("handler log (last 20000 bytes):\n%s", log[max(0, len(log)-20000):])
		}
	})
	waitReady(t, p.URL+"/healthz", p.done)
	return p
}

// quitWithStacks ends the process with SIGQUIT, on which the Go runtime
// prints every goroutine's stack, and returns that dump.
func (p *handlerProcess) quitWithStacks(t *testing.T) string {
	t.Helper()
	p.dumpFrom = len(p.Log.String())
	p.quit = true
	p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Error("handler did not quit within 15s of SIGQUIT")
	}
	return p.Log.String()[p.dumpFrom:]
}
