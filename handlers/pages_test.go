package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// The pages a signed-out visitor reaches need no B2C: the app's B2C is a
// closed port here.
func TestPagesSignedOut(t *testing.T) {
	app := newApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantType           string // Content-Type prefix
		wantLocation       string
		wantTitle          string // the error page's error-title
		wantBody           []string
		wantNotBody        []string
	}{
		{name: "home", method: "GET", path: "/", wantStatus: 200, wantType: "text/html",
			wantBody:    []string{`<a id="sign-in" href="/login">Sign in</a>`, `id="sign-in-button" href="/login"`, "You are not signed in."},
			wantNotBody: []string{`id="logout"`, `id="call-api"`, `id="edit-profile"`}},
		{name: "home with a query", method: "GET", path: "/?x=1", wantStatus: 200, wantType: "text/html", wantBody: []string{`id="sign-in"`}},
		{name: "anonymous", method: "GET", path: "/anonymous", wantStatus: 200, wantType: "text/html",
			wantBody: []string{"<h1>Anonymous page</h1>", `id="sign-in"`}},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200, wantType: "text/plain", wantBody: []string{"ok\n"}},
		{name: "unknown path", method: "GET", path: "/no/such/page", wantStatus: 404, wantType: "text/html", wantTitle: "Page not found"},
		{name: "POST to a GET page", method: "POST", path: "/anonymous", wantStatus: 404, wantType: "text/html", wantTitle: "Page not found"},
		{name: "GET the timer's route", method: "GET", path: "/sweep", wantStatus: 404, wantType: "text/html", wantTitle: "Page not found"},
		// Signed out, the logout page has nothing to sign out of: no form.
		{name: "logout page", method: "GET", path: "/logout", wantStatus: 200, wantType: "text/html",
			wantBody: []string{"You are signed out"}, wantNotBody: []string{"<form", `id="sign-out"`}},
		// Signed out, POST /logout just goes home...
		{name: "same-origin sign-out", method: "POST", path: "/logout", header: map[string]string{"Sec-Fetch-Site": "same-origin"},
			wantStatus: 303, wantLocation: "/"},
		// ...but a cross-site one never reaches the handler.
		{name: "cross-site sign-out", method: "POST", path: "/logout", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			wantStatus: 403, wantType: "text/html", wantTitle: "Request refused"},
		{name: "cross-origin sign-out without fetch metadata", method: "POST", path: "/logout", header: map[string]string{"Origin": "https://evil.example"},
			wantStatus: 403, wantType: "text/html", wantTitle: "Request refused"},
		// RequireSignIn runs before graphcall: with no API configured a
		// signed-out visitor is still sent to sign in, not told there is
		// no API.
		{name: "graphcall", method: "GET", path: "/graphcall", wantStatus: 302, wantLocation: "/login?next=%2Fgraphcall"},
		{name: "private", method: "GET", path: "/private?tab=2", wantStatus: 302, wantLocation: "/login?next=%2Fprivate%3Ftab%3D2"},
		{name: "edit profile", method: "GET", path: "/editProfile", wantStatus: 302, wantLocation: "/login?next=%2FeditProfile"},
		// Sign-in's own failures become the app's pages.
		{name: "callback without state", method: "GET", path: "/getAToken", wantStatus: 400, wantType: "text/html", wantTitle: "Sign-in failed",
			wantBody: []string{`id="sign-in-again"`}},
		{name: "callback with an unknown state", method: "GET", path: "/getAToken?state=abc&code=def", wantStatus: 400, wantType: "text/html", wantTitle: "Sign-in cookie missing"},
		{name: "sign-in with B2C unreachable", method: "GET", path: "/login", wantStatus: 502, wantType: "text/html", wantTitle: "Sign-in service unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, tt.method, app.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r := testenv.Send(t, c, req)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", r.Status, tt.wantStatus, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if r.Location != "" || tt.wantLocation != "" {
				if want := app.URL + tt.wantLocation; tt.wantLocation == "" || r.Location != want {
					t.Errorf("Location %q, want %q", r.Location, want)
				}
			}
			if title, ok := textOf(r.Body, "error-title"); title != tt.wantTitle || ok != (tt.wantTitle != "") {
				t.Errorf("error-title %q (present %v), want %q", title, ok, tt.wantTitle)
			}
			for _, s := range tt.wantBody {
				if !strings.Contains(r.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, r.Body)
				}
			}
			for _, s := range tt.wantNotBody {
				if strings.Contains(r.Body, s) {
					t.Errorf("body has %q:\n%s", s, r.Body)
				}
			}
		})
	}
	// None of it stored anything: no cookie, no row.
	if cs := c.Jar.Cookies(testenv.ParseURL(t, app.URL)); len(cs) != 0 {
		t.Errorf("signed-out pages set cookies %v", cs)
	}
	if n := countRows(t, app.table); n != 0 {
		t.Errorf("signed-out pages wrote %d rows", n)
	}
}

// Signed in (through the B2C emulator), GET /logout shows the POST form; a
// cross-site POST is refused and leaves the session alone; a same-origin
// one signs out.
func TestPagesSignedIn(t *testing.T) {
	app := newApp(t, appOptions{b2c: true})
	c := testenv.NewBrowser(t)
	if got := testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID).Location; got != app.URL+"/" {
		t.Fatalf("after sign-in: Location %q, want %q", got, app.URL+"/")
	}
	steps := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantTitle          string
		wantBody           []string
		wantNotBody        []string
	}{
		{name: "home", method: "GET", path: "/", wantStatus: 200,
			wantBody: []string{`<h1 id="welcome">Welcome, Alice Example</h1>`, `id="logout" href="/logout"`, `id="claims"`}, wantNotBody: []string{`id="sign-in"`, `id="call-api"`}},
		{name: "logout page", method: "GET", path: "/logout", wantStatus: 200,
			wantBody: []string{`<form method="post" action="/logout"><button id="sign-out" type="submit">Sign out</button></form>`}},
		{name: "private", method: "GET", path: "/private", wantStatus: 200, wantBody: []string{`<strong id="private-name">Alice Example</strong>`}},
		// Signed in, the missing API shows.
		{name: "graphcall without an API", method: "GET", path: "/graphcall", wantStatus: 404, wantTitle: "No API configured"},
		{name: "cross-site sign-out", method: "POST", path: "/logout", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, wantStatus: 403, wantTitle: "Request refused"},
		{name: "still signed in", method: "GET", path: "/logout", wantStatus: 200, wantBody: []string{`id="sign-out"`}},
		{name: "same-origin sign-out", method: "POST", path: "/logout", header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": app.URL}, wantStatus: 303},
		{name: "signed out", method: "GET", path: "/logout", wantStatus: 200, wantBody: []string{"You are signed out"}, wantNotBody: []string{"<form"}},
	}
	for _, s := range steps {
		req := newRequest(t, s.method, app.URL+s.path, nil)
		for k, v := range s.header {
			req.Header.Set(k, v)
		}
		r := testenv.Send(t, c, req)
		if r.Status != s.wantStatus {
			t.Fatalf("%s: status %d, want %d\n%s", s.name, r.Status, s.wantStatus, r.Body)
		}
		if title, _ := textOf(r.Body, "error-title"); title != s.wantTitle {
			t.Errorf("%s: error-title %q, want %q", s.name, title, s.wantTitle)
		}
		// A page is rendered whole before it is sent: its length goes
		// ahead of it, rather than the page in chunks (RFC 9112 §6.3).
		if n := r.Header.Get("Content-Length"); strings.Contains(r.Header.Get("Content-Type"), "text/html") && n != strconv.Itoa(len(r.Body)) {
			t.Errorf("%s: Content-Length %q for a page of %d bytes", s.name, n, len(r.Body))
		}
		for _, want := range s.wantBody {
			if !strings.Contains(r.Body, want) {
				t.Errorf("%s: body lacks %q:\n%s", s.name, want, r.Body)
			}
		}
		for _, not := range s.wantNotBody {
			if strings.Contains(r.Body, not) {
				t.Errorf("%s: body has %q:\n%s", s.name, not, r.Body)
			}
		}
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		opts       func(t *testing.T) appOptions
		wantStatus int
		wantBody   string
	}{
		{"ready", func(t *testing.T) appOptions { return appOptions{b2c: true} }, 200, "ready\n"},
		{"B2C unreachable", func(t *testing.T) appOptions { return appOptions{} }, 503, "not ready: sign-in service\n"},
		{"table unreachable", func(t *testing.T) appOptions { return appOptions{b2c: true, table: testenv.UnreachableTable(t)} }, 503, "not ready: session table\n"},
		{"both unreachable", func(t *testing.T) appOptions { return appOptions{table: testenv.UnreachableTable(t)} }, 503, "not ready: session table\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t, tt.opts(t))
			r := testenv.Get(t, testenv.NewBrowser(t), app.URL+"/readyz")
			if r.Status != tt.wantStatus || r.Body != tt.wantBody {
				t.Errorf("GET /readyz: %d %q, want %d %q", r.Status, r.Body, tt.wantStatus, tt.wantBody)
			}
			if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			// The reason is in the log, at warning level.
			notReady := byMsg(app.log.Lines(t), "not ready")
			switch {
			case tt.wantStatus == 200 && len(notReady) != 0:
				t.Errorf("ready, yet logged %v", notReady)
			case tt.wantStatus != 200 && (len(notReady) != 1 || notReady[0]["level"] != "WARN" || notReady[0]["err"] == ""):
				t.Errorf("not-ready log lines %v, want one WARN with the cause", notReady)
			}
		})
	}
}

// An anonymous loop on /readyz cannot spend the rate limit B2C keeps per
// client IP: however many probes come at once, B2C sees at most one
// discovery request, and a B2C that has gone since leaves the app ready on
// the document it has.
func TestReadyzCannotExhaustB2C(t *testing.T) {
	app := newApp(t, appOptions{b2c: true})
	app.emu.ResetRequests()
	const probes = 1000
	statuses := make(chan int, probes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range probes {
		wg.Go(func() {
			<-start
			resp, err := http.Get(app.URL + "/readyz")
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Fatalf("GET /readyz: %d, want 200", status)
		}
	}
	discovery := 0
	for _, r := range app.emu.Requests() {
		if r.Endpoint == "discovery" {
			discovery++
		}
	}
	if discovery > 1 {
		t.Fatalf("%d concurrent GET /readyz made %d discovery requests, want at most 1", probes, discovery)
	}
	app.emu.Close()
	if r := testenv.Get(t, testenv.NewBrowser(t), app.URL+"/readyz"); r.Status != http.StatusOK {
		t.Fatalf("B2C gone: GET /readyz: %d %q, want 200 from the cached document", r.Status, r.Body)
	}
}

func countRows(t *testing.T, table *aztables.Client) int {
	t.Helper()
	n := 0
	for _, c := range testenv.Rows(t, table) {
		n += c
	}
	return n
}

// The sessionless routes answer a request that carries a session cookie
// even when Table Storage is down; the others fail with the 503 page.
func TestSessionlessRoutesWithStorageDown(t *testing.T) {
	app := newApp(t, appOptions{table: testenv.UnreachableTable(t)})
	cookie := &http.Cookie{Name: auth.SessionCookie, Value: session.NewState()}
	tests := []struct {
		method, path string
		host         string // "" for the listener's own address
		wantStatus   int
		wantType     string
		wantBody     string // prefix
		wantTitle    string
	}{
		{method: "GET", path: "/healthz", wantStatus: 200, wantType: "text/plain; charset=utf-8", wantBody: "ok\n"},
		{method: "GET", path: "/readyz", wantStatus: 503, wantType: "text/plain; charset=utf-8", wantBody: "not ready: session table\n"},
		{method: "POST", path: "/sweep", wantStatus: 500, wantType: "application/json", wantBody: `{"Outputs":{},"Logs":["sweep failed`},
		{method: "GET", path: "/", wantStatus: 503, wantType: "text/html; charset=utf-8", wantTitle: "Service unavailable"},
		{method: "GET", path: "/anonymous", wantStatus: 503, wantType: "text/html; charset=utf-8", wantTitle: "Service unavailable"},
		// A visitor's POST /sweep gets the 404 page without a session read.
		{method: "POST", path: "/sweep", host: "app.example.com", wantStatus: 404, wantType: "text/html; charset=utf-8", wantTitle: "Page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.host, func(t *testing.T) {
			req := newRequest(t, tt.method, app.srv.URL+tt.path, nil)
			req.AddCookie(cookie)
			if tt.host != "" {
				req.Host = tt.host
			}
			r := testenv.Send(t, app.srv.Client(), req)
			if r.Status != tt.wantStatus || r.Header.Get("Content-Type") != tt.wantType || !strings.HasPrefix(r.Body, tt.wantBody) {
				t.Errorf("%d %q %q, want %d %q %q...", r.Status, r.Header.Get("Content-Type"), r.Body, tt.wantStatus, tt.wantType, tt.wantBody)
			}
			if title, _ := textOf(r.Body, "error-title"); title != tt.wantTitle {
				t.Errorf("error-title %q, want %q", title, tt.wantTitle)
			}
			if tt.wantStatus == http.StatusServiceUnavailable && tt.wantTitle != "" && r.Header.Get("Retry-After") != "5" {
				t.Errorf("Retry-After %q on a 503 page", r.Header.Get("Retry-After"))
			}
		})
	}
}
