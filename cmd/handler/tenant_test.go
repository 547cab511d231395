package main

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// What a real B2C tenant does that a default emulator does not, each with
// the app's answer (the emulator's testdata names the article behind each
// behaviour).

// The policy-ID claim: tfp or acr per the tenant's setting, or neither in a
// custom policy, which the app accepts only when told.
func TestPolicyClaimForms(t *testing.T) {
	const custom = "B2C_1A_signup_signin"
	tests := []struct {
		name       string
		policy     string
		claim      string            // the emulator's
		env        map[string]string // the app's
		wantSignIn bool
	}{
		{name: "acr", policy: testenv.SignUpSignIn, claim: "acr", wantSignIn: true},
		{name: "tfp pinned, acr sent", policy: testenv.SignUpSignIn, claim: "acr", env: map[string]string{"B2C_POLICY_CLAIM": "tfp"}},
		{name: "custom policy with neither, app told", policy: custom, claim: "none", env: map[string]string{"B2C_POLICY_CLAIM": "none"}, wantSignIn: true},
		{name: "custom policy with neither, app not told", policy: custom, claim: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"B2C_SIGNUP_SIGNIN_POLICY": tt.policy}
			for k, v := range tt.env {
				env[k] = v
			}
			app := startApp(t, appOptions{env: env, emulator: func(c *emulator.Config) {
				c.Policies[0].Name, c.Policies[0].PolicyClaim = tt.policy, tt.claim
			}})
			c := testenv.NewBrowser(t)
			action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
			r := testenv.Do(t, c, "GET", testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}}), nil)
			if tt.wantSignIn {
				if r.Status != http.StatusSeeOther {
					t.Fatalf("callback: %d\n%s", r.Status, r.Body)
				}
				return
			}
			if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") {
				t.Fatalf("callback: %d, want the misconfiguration page\n%s", r.Status, r.Body)
			}
			if line := logLine(t, app, "request failed"); line["setting"] != "B2C_POLICY_CLAIM" {
				t.Fatalf("log line %v, want setting B2C_POLICY_CLAIM", line)
			}
		})
	}
}

// Sign-out with id_token_hint under B2C's rule: the registered post-logout
// URI brings the user back; an unregistered one strands them on B2C's
// error page; an expired hint is not sent, so sign-out still comes back.
func TestSignOutComesBack(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		lifetime time.Duration // of ID tokens
		wantBack bool
	}{
		{name: "registered post-logout URI", wantBack: true},
		{name: "unregistered post-logout URI", env: map[string]string{"POST_LOGOUT_REDIRECT_URI": "http://localhost:1/elsewhere"}},
		{name: "expired ID token", lifetime: time.Second, wantBack: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startApp(t, appOptions{env: tt.env, emulator: func(c *emulator.Config) { c.IDTokenLifetime = tt.lifetime }})
			c := testenv.NewBrowser(t)
			testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
			if tt.lifetime > 0 {
				time.Sleep(tt.lifetime + 100*time.Millisecond)
			}
			out := testenv.Do(t, c, "POST", app.URL+"/logout", url.Values{})
			if out.Status != http.StatusSeeOther || !strings.Contains(out.Location, "/oauth2/v2.0/logout?") {
				t.Fatalf("POST /logout: %d %q", out.Status, out.Location)
			}
			if hint := mustQuery(t, out.Location).Get("id_token_hint"); (hint == "") != (tt.lifetime > 0) {
				t.Fatalf("id_token_hint %q: sent %v, want sent only while the token is valid", hint, hint != "")
			}
			b2c := testenv.Do(t, c, "GET", out.Location, nil)
			if !tt.wantBack {
				if b2c.Status != http.StatusBadRequest || b2c.Location != "" {
					t.Fatalf("B2C with an unregistered post-logout URI: %d %q, want its error page", b2c.Status, b2c.Location)
				}
				return
			}
			if b2c.Status != http.StatusFound || b2c.Location != app.URL+"/" {
				t.Fatalf("B2C's end-session endpoint: %d %q, want back to %s/\n%s", b2c.Status, b2c.Location, app.URL, b2c.Body)
			}
			if home := testenv.Do(t, c, "GET", b2c.Location, nil); home.Status != 200 || !strings.Contains(home.Body, `id="sign-in-button"`) {
				t.Fatalf("back home: %d, signed out %v", home.Status, strings.Contains(home.Body, `id="sign-in-button"`))
			}
		})
	}
}

// Application claims are opt-in per user flow: with none of them, and sub
// the legacy constant, pages still work; a profile edit, which needs a
// stable user ID, is refused as misconfiguration rather than accepted for
// anyone.
func TestWithoutApplicationClaims(t *testing.T) {
	app := startApp(t, appOptions{emulator: func(c *emulator.Config) {
		for i := range c.Policies {
			c.Policies[i].ApplicationClaims, c.Policies[i].LegacySubject = []string{}, true
		}
	}})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	for _, page := range []string{"/", "/private"} {
		if r := testenv.Do(t, c, "GET", app.URL+page, nil); r.Status != 200 || strings.Contains(r.Body, alice.Email) {
			t.Fatalf("GET %s without application claims: %d\n%s", page, r.Status, r.Body)
		}
	}
	cb := testenv.EmulatorProfileEdit(t, c, app.URL+"/editProfile", alice.ObjectID, url.Values{"action": {"profile"}, "name": {"Alice Renamed"}, "given-name": {"Alice"}, "family-name": {"Renamed"}})
	r := testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") {
		t.Fatalf("profile edit without oid or sub: %d, want the misconfiguration page\n%s", r.Status, r.Body)
	}
}

// Partial grants: B2C issues a token for the granted scopes and leaves the
// others out; MSAL refuses it. The page names the missing scope and the
// setting; none granted at all comes back as B2C's AADB2C90205.
func TestPartialGrant(t *testing.T) {
	const reports = "https://contoso.onmicrosoft.com/reports-api"
	tests := []struct {
		name    string
		granted []string
		want    string
	}{
		{name: "one of two granted", granted: []string{reports + "/read"}, want: "scopes not granted: " + reports + "/write (API_SCOPES)"},
		{name: "none granted", granted: []string{}, want: "AADB2C90205"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startApp(t, appOptions{env: map[string]string{"API_SCOPES": reports + "/read " + reports + "/write"}, emulator: func(c *emulator.Config) {
				c.APIs = append(c.APIs, emulator.API{AppIDURI: reports, ClientID: "99999999-0000-4000-8000-0000000000a2", Scopes: []string{"read", "write"}})
				c.Clients[0].GrantedScopes = tt.granted
			}})
			c := testenv.NewBrowser(t)
			r := testenv.Do(t, c, "GET", app.URL+"/login", nil)
			if r.Status != http.StatusFound {
				t.Fatalf("/login: %d", r.Status)
			}
			var cb string
			if page := testenv.Do(t, c, "GET", r.Location, nil); page.Status == http.StatusOK {
				action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
				cb = testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
			} else {
				cb = page.Location // B2C refused at once, to the redirect URI
			}
			r = testenv.Do(t, c, "GET", cb, nil)
			if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") {
				t.Fatalf("callback: %d, want the misconfiguration page\n%s", r.Status, r.Body)
			}
			line := logLine(t, app, "request failed")
			if line["setting"] != "API_SCOPES" || !strings.Contains(html.UnescapeString(r.Body)+" "+asString(line["code"]), tt.want) {
				t.Fatalf("page or log lacks %q, setting API_SCOPES: log %v\n%s", tt.want, line, r.Body)
			}
		})
	}
}

// The tenant switches its issuer form while the app holds the discovery
// document: the next sign-in refetches it and works.
func TestIssuerFormSwitch(t *testing.T) {
	app := startApp(t, appOptions{})
	testenv.SignIn(t, testenv.NewBrowser(t), app.URL+"/login", alice.ObjectID)
	app.Emu.SetIssuerForm(emulator.IssuerTFP)
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", bob.ObjectID)
	if home := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(home.Body, "Welcome, Bob Example") {
		t.Fatalf("after the switch: %d\n%s", home.Status, home.Body)
	}
}

// A custom domain: the issuer carries the domain's host; sign-in works with
// the tenant's name in the path and with its tenant ID.
func TestCustomDomain(t *testing.T) {
	for _, byID := range []bool{false, true} {
		name := map[bool]string{false: "tenant name path", true: "tenant ID path"}[byID]
		t.Run(name, func(t *testing.T) {
			app := startApp(t, appOptions{emulator: func(c *emulator.Config) { c.CustomDomain = "127.0.0.1" }, beforeRun: func(emu *emulator.Server, env map[string]string) {
				env["B2C_TENANT_HOST"] = emu.CustomDomainHost()
				if byID {
					env["B2C_TENANT_ID"] = emu.TenantID()
				}
			}})
			c := testenv.TrustingBrowser(t, app.Emu.CACertPEM())
			testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
			if home := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(html.UnescapeString(home.Body), `"iss": "https://`+app.Emu.CustomDomainHost()+`/`) {
				t.Fatalf("the issuer is not the custom domain's:\n%s", home.Body)
			}
		})
	}
}

// A token testenv.Response MSAL cannot parse quotes the testenv.Response in MSAL's error,
// tokens included: the app shows a misconfiguration page and logs none of
// it (startApp's cleanup greps the log for everything the emulator issued).
func TestUnparsableTokenResponseNeverLogged(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
	app.Emu.BreakNextTokenResponse()
	if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") {
		t.Fatalf("callback with a broken token response: %d\n%s", r.Status, r.Body)
	}
	for _, issued := range app.Emu.Issued() {
		if strings.Contains(app.Log.String(), issued) {
			t.Fatalf("the log holds a token the emulator issued")
		}
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func asString(v any) string { s, _ := v.(string); return s }

// External ID's own flows: the password reset inside sign-up/sign-in, a
// cancel (a bare access_denied) back home, no profile editing, and a
// sign-in-only app, which gets its access token for the OpenID Connect
// scopes rather than B2C's client-ID convention.
func TestExternalIDFlows(t *testing.T) {
	t.Run("password reset inside the flow", func(t *testing.T) {
		app := startApp(t, appOptions{externalID: true})
		c := testenv.NewBrowser(t)
		action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
		if page := testenv.Do(t, c, "POST", action, url.Values{"tx": {tx}, "action": {"forgot"}}); page.Status != 200 {
			t.Fatalf("reset page: %d\n%s", page.Status, page.Body)
		}
		if r := testenv.Do(t, c, "GET", testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"reset"}, "user": {alice.ObjectID}}), nil); r.Status != http.StatusSeeOther {
			t.Fatalf("callback after the reset: %d\n%s", r.Status, r.Body)
		}
		if r := graphcall(t, app, c); r.Status != 200 {
			t.Fatalf("/graphcall after the reset: %d", r.Status)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		app := startApp(t, appOptions{externalID: true})
		c := testenv.NewBrowser(t)
		action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
		r := testenv.Do(t, c, "GET", testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"cancel"}}), nil)
		if r.Status != http.StatusSeeOther || r.Location != app.URL+"/" {
			t.Fatalf("cancel: %d %q, want home\n%s", r.Status, r.Location, r.Body)
		}
	})
	t.Run("no profile editing", func(t *testing.T) {
		app := startApp(t, appOptions{externalID: true})
		c := testenv.NewBrowser(t)
		testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
		if home := testenv.Do(t, c, "GET", app.URL+"/", nil); strings.Contains(home.Body, `id="edit-profile"`) {
			t.Fatal("the home page offers Edit profile, which External ID does not have")
		}
	})
	t.Run("sign-in only", func(t *testing.T) {
		app := startApp(t, appOptions{externalID: true, env: map[string]string{"API_ENDPOINT": "", "API_SCOPES": ""}})
		c := testenv.NewBrowser(t)
		testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
		if home := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(home.Body, "Welcome, Alice Example") {
			t.Fatalf("signed-in home: %d\n%s", home.Status, home.Body)
		}
	})
}
