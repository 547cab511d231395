package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

const (
	testClientID = "11111111-2222-4333-8444-555555555555"
	testSecret   = "test-secret"
	susi         = "B2C_1_signupsignin1"
	profileEdit  = "B2C_1_profileediting1"
	reset        = "B2C_1_passwordreset1"
	apiScope     = "https://contoso.onmicrosoft.com/tasks-api/tasks.read"
)

var (
	alice = emulator.User{ObjectID: "a11ce000-0000-4000-8000-000000000001", Email: "alice@example.com", Name: "Alice Example", GivenName: "Alice", FamilyName: "Example"}
	bob   = emulator.User{ObjectID: "b0b00000-0000-4000-8000-000000000002", Email: "bob@example.com", Name: "Bob Example", GivenName: "Bob", FamilyName: "Example"}
)

type appOptions struct {
	azurite             *testenv.Azurite // default: the shared one
	accessTokenLifetime time.Duration
	susiKind            emulator.PolicyKind
	noResetPolicy       bool
	reuseDetection      bool
	// tableCalls, when set, counts the handler's Table Storage requests.
	tableCalls *callCounter
	// env overrides the handler's settings; an empty value unsets one.
	env map[string]string
	// externalID makes the tenant a Microsoft Entra External ID one.
	externalID bool
	// emulator adjusts the emulator's configuration before it starts;
	// beforeRun the handler's settings once the emulator runs.
	emulator  func(*emulator.Config)
	beforeRun func(*emulator.Server, map[string]string)
}

// testApp is the real program, started with run, against the emulator and
// Azurite.
type testApp struct {
	URL   string
	Emu   *emulator.Server
	Table *aztables.Client
	Log   *syncBuffer
	env   map[string]string // the settings it runs with
}

func startApp(t testing.TB, o appOptions) *testApp {
	t.Helper()
	az := o.azurite
	if az == nil {
		az = testenv.SharedAzurite(t)
	}
	tableName, table := az.NewTable(t)
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	emu, env := startEmulator(t, o, base)
	env["SESSION_TABLE_CONNECTION_STRING"] = tableConnection(t, az, o.tableCalls)
	env["SESSION_TABLE_NAME"] = tableName
	env["FUNCTIONS_CUSTOMHANDLER_PORT"] = fmt.Sprint(port)
	env["LOG_LEVEL"] = "debug"
	for k, v := range o.env {
		env[k] = v
	}
	if o.beforeRun != nil {
		o.beforeRun(emu, env)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		// Secrets, codes, tokens and cookies never reach the log: none of
		// what the emulator issued, nor the shapes they come in.
		for _, secret := range append([]string{testSecret, "code=", "eyJ", "__Host-"}, emu.Issued()...) {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds %.40q", secret)
			}
		}
		if t.Failed() {
			t.Logf("handler log:\n%s", logs.String())
		}
	})
	waitReady(t, base+"/healthz", done)
	return &testApp{URL: base, Emu: emu, Table: table, Log: logs, env: env}
}

// startEmulator starts the B2C emulator for an app served at base and
// returns the app's settings that point at it; the caller adds the table
// and port settings.
func startEmulator(t testing.TB, o appOptions, base string) (*emulator.Server, map[string]string) {
	t.Helper()
	cfg := emulator.Config{
		Tenant:   "contoso",
		Policies: []emulator.Policy{{Name: susi, Kind: o.susiKind}, {Name: profileEdit, Kind: emulator.ProfileEdit}, {Name: reset, Kind: emulator.PasswordReset}},
		// The post-logout URI is registered too, as the set-up steps of
		// docs/deploy.md say: B2C checks it against the redirect URIs.
		Clients:                    []emulator.Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{base + "/getAToken", base + "/"}}},
		Users:                      []emulator.User{alice, bob},
		APIs:                       []emulator.API{{AppIDURI: "https://contoso.onmicrosoft.com/tasks-api", ClientID: "99999999-0000-4000-8000-0000000000a1", Scopes: []string{"tasks.read"}}},
		AccessTokenLifetime:        o.accessTokenLifetime,
		RefreshTokenReuseDetection: o.reuseDetection,
		StrictLogout:               true,
	}
	if o.externalID {
		// One user flow, attached to the app; APIs by api:// URI.
		cfg.ExternalID, cfg.Policies = true, nil
		cfg.APIs[0].AppIDURI = "api://" + cfg.APIs[0].ClientID
	}
	if o.emulator != nil {
		o.emulator(&cfg)
	}
	emu, err := emulator.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, emu.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"B2C_TENANT_NAME":           "contoso",
		"B2C_TENANT_HOST":           emu.TLSHost(),
		"B2C_SIGNUP_SIGNIN_POLICY":  susi,
		"B2C_PROFILE_EDIT_POLICY":   profileEdit,
		"B2C_PASSWORD_RESET_POLICY": reset,
		"B2C_CLIENT_ID":             testClientID,
		"B2C_CLIENT_SECRET":         testSecret,
		"B2C_CA_FILE":               caFile,
		"PUBLIC_BASE_URL":           base,
		"API_ENDPOINT":              emu.APIURL(),
		"API_SCOPES":                apiScope,
	}
	if o.noResetPolicy {
		delete(env, "B2C_PASSWORD_RESET_POLICY")
	}
	if o.externalID {
		env["IDENTITY_PROVIDER"] = "external-id"
		env["B2C_TENANT_ID"] = emu.TenantID()
		env["API_SCOPES"] = cfg.APIs[0].AppIDURI + "/tasks.read"
		delete(env, "B2C_SIGNUP_SIGNIN_POLICY")
		delete(env, "B2C_PROFILE_EDIT_POLICY")
		delete(env, "B2C_PASSWORD_RESET_POLICY")
	}
	return emu, env
}

// A tenantMode is one kind of tenant every end-to-end test runs against.
type tenantMode struct {
	name       string
	externalID bool
}

var tenantModes = []tenantMode{{"B2C", false}, {"External ID", true}}

// tableConnection is Azurite's connection string, through a counting proxy
// when counter is set: the calls are counted on the wire.
func tableConnection(t testing.TB, az *testenv.Azurite, counter *callCounter) string {
	cs := az.ConnectionString()
	if counter == nil {
		return cs
	}
	target, err := url.Parse(cs[strings.Index(cs, "TableEndpoint=")+len("TableEndpoint=") : len(cs)-1])
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter.add(r.Method)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(cs, "http://"+target.Host, srv.URL, 1)
}

type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
}

// take returns the calls counted since the last take.
func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func waitReady(t testing.TB, u string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		default:
		}
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 10s", u)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newClient is a browser stand-in with its own cookie jar that does not
// follow redirects, so tests see each hop.
func newClient(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	Status   int
	Location string
	Body     string
}

func do(t testing.TB, c *http.Client, method, u string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if loc != "" {
		if l, err := resp.Request.URL.Parse(loc); err == nil {
			loc = l.String()
		}
	}
	return response{Status: resp.StatusCode, Location: loc, Body: string(b)}
}

var (
	txField    = regexp.MustCompile(`name="tx" value="([^"]+)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// startSignIn follows /login (or another starting URL) to the emulator's
// page and returns the page's form action and transaction ID.
func startSignIn(t testing.TB, c *http.Client, start string) (action, tx string) {
	t.Helper()
	r := do(t, c, "GET", start, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302\n%s", start, r.Status, r.Body)
	}
	page := do(t, c, "GET", r.Location, nil)
	if page.Status != http.StatusOK {
		t.Fatalf("authorize page: status %d\n%s", page.Status, page.Body)
	}
	a, x := formAction.FindStringSubmatch(page.Body), txField.FindStringSubmatch(page.Body)
	if a == nil || x == nil {
		t.Fatalf("no form on the authorize page:\n%s", page.Body)
	}
	au, err := url.Parse(r.Location)
	if err != nil {
		t.Fatal(err)
	}
	act, err := au.Parse(strings.ReplaceAll(a[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	return act.String(), x[1]
}

// emulatorAnswer posts a choice on the emulator's page and returns the
// redirect to the app's callback.
func emulatorAnswer(t testing.TB, c *http.Client, action, tx string, form url.Values) string {
	t.Helper()
	form.Set("tx", tx)
	r := do(t, c, "POST", action, form)
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("emulator answer: status %d\n%s", r.Status, r.Body)
	}
	return r.Location
}

// signIn runs the whole sign-in as user and returns where the app sent the
// browser after the callback.
func signIn(t testing.TB, app *testApp, c *http.Client, start string, user emulator.User) string {
	t.Helper()
	action, tx := startSignIn(t, c, start)
	callback := emulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {user.ObjectID}})
	r := do(t, c, "GET", callback, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303\n%s", r.Status, r.Body)
	}
	return r.Location
}

// rows counts the table's rows by row key.
func rows(t testing.TB, table *aztables.Client) map[string]int {
	t.Helper()
	counts := map[string]int{}
	sel := "RowKey"
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			counts[e.RowKey]++
		}
	}
	return counts
}

// emulatorClient reaches the emulator's TLS endpoints, trusting its CA.
func emulatorClient(t testing.TB, app *testApp) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(app.Emu.CACertPEM()) {
		t.Fatal("no CA certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
