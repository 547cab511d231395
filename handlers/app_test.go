package handlers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/logging"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

const (
	testTenant   = "contoso"
	testClientID = "11111111-2222-4333-8444-555555555555"
	testSecret   = "test-secret"
	testSUSI     = "B2C_1_signupsignin1"
)

var alice = emulator.User{ObjectID: "a11ce000-0000-4000-8000-000000000001", Email: "alice@example.com", Name: "Alice Example", GivenName: "Alice", FamilyName: "Example"}

// appOptions vary the app a test starts. The zero value is an app whose
// B2C cannot be reached (a closed loopback port) over a fresh Azurite table:
// enough for every page that does not sign in.
type appOptions struct {
	localhost   bool
	https       bool // the public origin is https
	apiEndpoint string
	// b2c starts the B2C emulator and points the app at it.
	b2c bool
	// table replaces the fresh Azurite table.
	table *aztables.Client
	// now is the sessions' clock.
	now func() time.Time
	// requestTimeout is Deps.RequestTimeout.
	requestTimeout time.Duration
}

// testApp is the web layer over a real auth.Service, served by an
// httptest.Server on loopback.
type testApp struct {
	web   *Server
	svc   *auth.Service
	h     http.Handler
	srv   *httptest.Server
	URL   string // http://localhost:PORT: cookie jars treat localhost as secure
	table *aztables.Client
	emu   *emulator.Server
	log   *syncBuffer
}

func newApp(t *testing.T, o appOptions) *testApp {
	t.Helper()
	app := &testApp{log: &syncBuffer{}, table: o.table}
	logger := logging.New(app.log, slog.LevelDebug)
	if app.table == nil {
		_, app.table = testenv.SharedAzurite(t).NewTable(t)
	}
	app.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(app.srv.Close)
	port := app.srv.Listener.Addr().(*net.TCPAddr).Port
	app.URL = "http://localhost:" + strconv.Itoa(port)

	web, err := New(Deps{
		Logger:      logger,
		APIClient:   &http.Client{Timeout: 5 * time.Second},
		APIEndpoint: o.apiEndpoint,
		Localhost:   o.localhost,
		HTTPS:       o.https,

		RequestTimeout: o.requestTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		TenantName:         testTenant,
		TenantHost:         testenv.ClosedAddr(t),
		ClientID:           testClientID,
		ClientSecret:       testSecret,
		SignUpSignInPolicy: testSUSI,
		RedirectURL:        app.URL + auth.RedirectPath,
		Table:              app.table,
		HTTPClient:         &http.Client{Timeout: 5 * time.Second},
		Now:                o.now,
		Logger:             logger,
		ErrorHandler:       web.RenderError,
	}
	if o.b2c {
		app.emu = startEmulator(t, cfg.RedirectURL)
		cfg.TenantHost = app.emu.TLSHost()
		cfg.HTTPClient = trusting(t, app.emu.CACertPEM())
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app.web, app.svc = web, svc
	app.h = web.Handler(svc)
	app.srv.Config.Handler = app.h
	app.srv.Start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", app.log.String())
		}
	})
	return app
}

func startEmulator(t *testing.T, redirectURL string) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start(emulator.Config{
		Tenant:   testTenant,
		Policies: []emulator.Policy{{Name: testSUSI, Kind: emulator.SignUpSignIn}},
		Clients:  []emulator.Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{redirectURL}}},
		Users:    []emulator.User{alice},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// trusting is an HTTP client that trusts the emulator's CA.
func trusting(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// serve runs one request through the app's handler, synchronously.
func (app *testApp) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	app.h.ServeHTTP(rec, req)
	return rec
}

// syncBuffer is a log destination that handlers on several goroutines may
// write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// lines parses the log's JSON lines.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// byMsg returns the log lines whose msg is msg.
func byMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// textOf returns the unescaped text of the element with id, and whether
// the page has it.
func textOf(body, id string) (string, bool) {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

type response struct {
	Status   int
	Header   http.Header
	Location string
	Body     string
}

// newClient is a browser-like client: a cookie jar, no redirects followed.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	if loc != "" {
		if l, err := resp.Request.URL.Parse(loc); err == nil {
			loc = l.String()
		}
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Location: loc, Body: string(b)}
}

func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	return do(t, c, newRequest(t, "GET", u, nil))
}

var (
	txField    = regexp.MustCompile(`name="tx" value="([^"]+)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// signIn signs user in through the emulator, as a browser with c's cookie
// jar would, and returns where the app sends the browser at the end.
func (app *testApp) signIn(t *testing.T, c *http.Client, user emulator.User) string {
	t.Helper()
	start := get(t, c, app.URL+"/login")
	if start.Status != http.StatusFound {
		t.Fatalf("GET /login: %d, want 302\n%s", start.Status, start.Body)
	}
	page := get(t, c, start.Location)
	a, x := formAction.FindStringSubmatch(page.Body), txField.FindStringSubmatch(page.Body)
	if page.Status != http.StatusOK || a == nil || x == nil {
		t.Fatalf("emulator's sign-in page: %d\n%s", page.Status, page.Body)
	}
	base, _ := url.Parse(start.Location)
	action, err := base.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"tx": {x[1]}, "action": {"user"}, "user": {user.ObjectID}}
	req := newRequest(t, "POST", action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	answer := do(t, c, req)
	if answer.Status != http.StatusFound && answer.Status != http.StatusSeeOther {
		t.Fatalf("emulator's answer: %d\n%s", answer.Status, answer.Body)
	}
	done := get(t, c, answer.Location)
	if done.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d, want 303\n%s", done.Status, done.Body)
	}
	return done.Location
}

// ctx is a context for a storage call of a test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
