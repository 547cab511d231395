package main

// The path to Table Storage that Azure uses (auth/env.go, newTableClient):
// SESSION_TABLE_ENDPOINT and a user-assigned managed identity, end to end.
// The real handler binary gets its token from a stand-in of the managed
// identity endpoint that App Service and Azure Functions provide, and
// presents it to an Azurite that serves HTTPS and checks bearer tokens.
//
// The handler runs as a process of its own, not through run: the identity
// endpoint is found in the process environment (MSAL's
// managedidentity.GetSource reads IDENTITY_ENDPOINT and IDENTITY_HEADER
// with os.Getenv), and Azurite's CA must be among Go's system roots, which
// SSL_CERT_FILE sets once per process.

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

const (
	// miClientID is the user-assigned identity's client ID, AZURE_CLIENT_ID.
	miClientID = "c0ffee00-0000-4000-8000-0000000000c1"
	// storageAudience is the resource aztables asks for, on every cloud.
	storageAudience = "https://storage.azure.com"
)

func TestManagedIdentityReachesTableStorage(t *testing.T) {
	bin := buildHandler(t)
	az := testenv.NewOAuthAzurite(t)
	for _, mode := range tenantModes {
		t.Run(mode.name, func(t *testing.T) { managedIdentityReachesTableStorage(t, bin, az, mode) })
	}
}

func managedIdentityReachesTableStorage(t *testing.T, bin string, az *testenv.OAuthAzurite, mode tenantMode) {

	t.Run("sign in and out", func(t *testing.T) {
		logStart := len(az.DebugLog(t))
		id := newIdentityEndpoint(t, "")
		app, tableName := startHandlerProcess(t, bin, az, id, mode)
		table := az.Table(t, tableName)
		// Nobody else creates the table: the handler does, with its token.
		az.WaitForTable(t, table)

		c := testenv.NewBrowser(t)
		if got := testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID).Location; got != app.URL+"/" && got != "/" {
			t.Fatalf("after sign-in: Location %q, want /", got)
		}
		home := testenv.Do(t, c, "GET", app.URL+"/", nil)
		if home.Status != 200 || !strings.Contains(html.UnescapeString(home.Body), "Welcome, Alice Example") {
			t.Fatalf("signed-in home: %d\n%s", home.Status, home.Body)
		}
		if n := testenv.Rows(t, table); n["session"] != 1 || n["tokencache"] != 1 || n["used"] != 1 {
			t.Fatalf("rows after sign-in: %v", n)
		}
		out := testenv.Do(t, c, "POST", app.URL+"/logout", url.Values{})
		if out.Status != http.StatusSeeOther {
			t.Fatalf("POST /logout: %d", out.Status)
		}
		if n := testenv.Rows(t, table); n["session"] != 0 || n["tokencache"] != 0 {
			t.Fatalf("rows after logout: %v", n)
		}

		calls := id.Calls()
		if len(calls) == 0 {
			t.Fatal("the identity endpoint was never called")
		}
		for _, call := range calls {
			if call.Err != "" {
				t.Errorf("identity request %q refused: %s", call.Query, call.Err)
			}
		}
		// The credential caches the token: one request for all the Table
		// Storage calls of a sign-in and sign-out.
		if len(calls) != 1 {
			t.Errorf("identity endpoint called %d times, want 1", len(calls))
		}
		if !debugLogHas(t, az, logStart, "Validation against token authentication successfully") {
			t.Error("Azurite never accepted a bearer token")
		}
	})

	// A token Table Storage refuses (here: issued for Key Vault) is a
	// configuration error: the sign-in fails with a page, the process
	// lives on.
	t.Run("token for another audience", func(t *testing.T) {
		logStart := len(az.DebugLog(t))
		id := newIdentityEndpoint(t, "https://vault.azure.net")
		app, _ := startHandlerProcess(t, bin, az, id, mode)

		// Starting a sign-in writes nothing; its callback is refused.
		c := testenv.NewBrowser(t)
		action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
		cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
		r := testenv.Do(t, c, "GET", cb, nil)
		if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") {
			t.Fatalf("callback with a refused token: %d, want 500\n%s", r.Status, r.Body)
		}
		if h := testenv.Do(t, testenv.NewBrowser(t), "GET", app.URL+"/healthz", nil); h.Status != 200 {
			t.Fatalf("/healthz after a refused token: %d", h.Status)
		}
		if len(id.Calls()) == 0 {
			t.Fatal("the identity endpoint was never called")
		}
		if !debugLogHas(t, az, logStart, "Invalid token audience") {
			t.Error("Azurite did not refuse the token for its audience")
		}
	})
}

// debugLogHas says whether Azurite's debug log holds text after offset
// from. Azurite writes the log asynchronously, so it waits a little.
func debugLogHas(t *testing.T, az *testenv.OAuthAzurite, from int, text string) bool {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(az.DebugLog(t)[from:], text) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// buildHandler builds the handler binary, with -race when this test binary
// has it: the build then reuses the packages just compiled for the test,
// and a data race in the handler fails the test (the process exits 66).
func buildHandler(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "handler")
	args := []string{"build", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	cmd := exec.Command("go", append(args, "./cmd/handler")...)
	cmd.Dir = testenv.Root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/handler: %v\n%s", err, out)
	}
	return bin
}

// startHandlerProcess runs the handler binary against az with a managed
// identity from id, and the emulator settings startApp uses. Its
// environment is only what it is given: no variable of the developer's
// can pick another credential source.
func startHandlerProcess(t *testing.T, bin string, az *testenv.OAuthAzurite, id *identityEndpoint, mode tenantMode) (app *testApp, tableName string) {
	t.Helper()
	port, release := testenv.ReservePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	emu, env := startEmulator(t, appOptions{externalID: mode.externalID}, base)
	tableName = fmt.Sprintf("sessions%d", time.Now().UnixNano()%1e9)
	env["SESSION_TABLE_ENDPOINT"] = az.Endpoint()
	env["SESSION_TABLE_NAME"] = tableName
	env["AZURE_CLIENT_ID"] = miClientID
	env["IDENTITY_ENDPOINT"] = id.URL
	env["IDENTITY_HEADER"] = id.Header
	// Trust Azurite's CA and nothing else from the machine.
	env["SSL_CERT_FILE"] = az.CAFile()
	env["SSL_CERT_DIR"] = t.TempDir()
	env["FUNCTIONS_CUSTOMHANDLER_PORT"] = fmt.Sprint(port)
	env["LOG_LEVEL"] = "debug"

	logs := &testenv.Log{}
	cmd := exec.Command(bin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	release()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("handler: %v", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("handler did not stop within 15s of SIGTERM")
		}
		// Secrets, codes and tokens never reach the log.
		for _, secret := range []string{testSecret, "code=", "eyJ", id.Header} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
		if t.Failed() {
			t.Logf("handler log:\n%s", logs.String())
		}
	})
	waitReady(t, base+"/healthz", done)
	return &testApp{URL: base, Emu: emu, Log: logs}, tableName
}

// identityEndpoint plays the managed identity endpoint of App Service and
// Azure Functions: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01
// &resource=R&client_id=C with the secret X-IDENTITY-HEADER, answered with
// access_token, expires_on (Unix seconds, a string), resource and
// token_type ("REST endpoint reference" in
// https://learn.microsoft.com/azure/app-service/overview-managed-identity).
// Its tokens are JWTs shaped like Entra's for a managed identity.
type identityEndpoint struct {
	URL, Header string
	// audience is the token's aud; empty means the resource asked for.
	audience string
	signer   jose.Signer

	mu    sync.Mutex
	calls []identityCall
}

type identityCall struct {
	Query url.Values
	// Err says why the stand-in refused the request; empty when it
	// issued a token.
	Err string
}

func newIdentityEndpoint(t *testing.T, audience string) *identityEndpoint {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	e := &identityEndpoint{Header: rand.Text(), audience: audience, signer: signer}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	// App Service's endpoint is plain HTTP on loopback, with a path.
	e.URL = srv.URL + "/msi/token"
	return e
}

func (e *identityEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var refusal string
	switch {
	case r.Method != http.MethodGet || r.URL.Path != "/msi/token":
		refusal = fmt.Sprintf("%s %s is not the token endpoint", r.Method, r.URL.Path)
	case r.Header.Get("X-IDENTITY-HEADER") != e.Header:
		refusal = fmt.Sprintf("X-IDENTITY-HEADER %q is not IDENTITY_HEADER", r.Header.Get("X-IDENTITY-HEADER"))
	case q.Get("api-version") != "2019-08-01":
		refusal = fmt.Sprintf("api-version %q, want 2019-08-01", q.Get("api-version"))
	case q.Get("client_id") != miClientID:
		// Without client_id the endpoint would answer for the
		// system-assigned identity.
		refusal = fmt.Sprintf("client_id %q is not the assigned identity %q", q.Get("client_id"), miClientID)
	case q.Get("resource") != storageAudience:
		refusal = fmt.Sprintf("resource %q, want %q", q.Get("resource"), storageAudience)
	}
	e.mu.Lock()
	e.calls = append(e.calls, identityCall{Query: q, Err: refusal})
	e.mu.Unlock()
	if refusal != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"statusCode": http.StatusBadRequest, "message": refusal})
		return
	}

	aud := e.audience
	if aud == "" {
		aud = q.Get("resource")
	}
	now := time.Now()
	exp := now.Add(time.Hour)
	const tenant = "7e570000-0000-4000-8000-0000000000a0"
	token, err := jwt.Signed(e.signer).Claims(map[string]any{
		"aud":   aud,
		"iss":   "https://sts.windows.net/" + tenant + "/",
		"iat":   now.Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   exp.Unix(),
		"appid": miClientID,
		"oid":   "0b1d0000-0000-4000-8000-0000000000c2",
		"sub":   "0b1d0000-0000-4000-8000-0000000000c2",
		"tid":   tenant,
		"idtyp": "app",
		"ver":   "1.0",
	}).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": token,
		"expires_on":   fmt.Sprint(exp.Unix()),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    miClientID,
	})
}

// Calls returns the requests the endpoint has had.
func (e *identityEndpoint) Calls() []identityCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]identityCall(nil), e.calls...)
}
