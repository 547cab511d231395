package handlers

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/logging"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv/emutest"
)

const (
	testTenant = "contoso"
	testSecret = "test-secret"
)

var alice = emulator.Alice

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
	log   *testenv.Log
}

func newApp(t *testing.T, o appOptions) *testApp {
	t.Helper()
	app := &testApp{log: &testenv.Log{}, table: o.table}
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
		ClientID:           testenv.ClientID,
		ClientSecret:       testSecret,
		SignUpSignInPolicy: testenv.SignUpSignIn,
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
		cfg.HTTPClient = testenv.TrustingClient(t, app.emu.CACertPEM())
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
	return emutest.Start(t, emutest.Config(testSecret, redirectURL))
}

// serve runs one request through the app's handler, synchronously.
func (app *testApp) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	app.h.ServeHTTP(rec, req)
	return rec
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

func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// ctx is a context for a storage call of a test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
