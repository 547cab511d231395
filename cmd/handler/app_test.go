package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv/emutest"
)

const testSecret = "test-secret"

var alice, bob = emulator.Alice, emulator.Bob

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
	Log   *testenv.Log
	env   map[string]string // the settings it runs with
}

func startApp(t testing.TB, o appOptions) *testApp {
	t.Helper()
	az := o.azurite
	if az == nil {
		az = testenv.SharedAzurite(t)
	}
	tableName, table := az.NewTable(t)
	port, release := testenv.ReservePort(t)
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
	logs := &testenv.Log{}
	done := make(chan error, 1)
	release()
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
	// The post-logout URI is registered too, as the set-up steps of
	// docs/deploy.md say: B2C checks it against the redirect URIs.
	cfg := emutest.Config(testSecret, base+"/getAToken", base+"/")
	cfg.Policies[0].Kind = o.susiKind
	cfg.AccessTokenLifetime, cfg.RefreshTokenReuseDetection, cfg.StrictLogout = o.accessTokenLifetime, o.reuseDetection, true
	if o.externalID {
		// One user flow, attached to the app; APIs by api:// URI.
		cfg.ExternalID, cfg.Policies = true, nil
		cfg.APIs[0].AppIDURI = "api://" + cfg.APIs[0].ClientID
	}
	if o.emulator != nil {
		o.emulator(&cfg)
	}
	emu := emutest.Start(t, cfg)
	env := emutest.Settings(t, emu, testSecret, base)
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
