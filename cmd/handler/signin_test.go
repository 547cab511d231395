package main

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestConfigErrorNamesVariable(t *testing.T) {
	err := run(t.Context(), nil, func(k string) string { return "" }, &testenv.Log{})
	if err == nil || !strings.Contains(err.Error(), "B2C_TENANT_NAME") {
		t.Fatalf("run with no settings: err = %v, want one naming B2C_TENANT_NAME", err)
	}
}

func TestSignInAndOut(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)

	home := testenv.Do(t, c, "GET", app.URL+"/", nil)
	if home.Status != 200 || !strings.Contains(home.Body, `id="sign-in"`) {
		t.Fatalf("home signed out: %d\n%s", home.Status, home.Body)
	}
	if n := testenv.Rows(t, app.Table); len(n) != 0 {
		t.Fatalf("anonymous views wrote rows: %v", n)
	}

	if got := testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID).Location; got != app.URL+"/" && got != "/" {
		t.Fatalf("after sign-in: Location %q, want /", got)
	}
	home = testenv.Do(t, c, "GET", app.URL+"/", nil)
	for _, want := range []string{"Welcome, Alice Example", "alice@example.com", `"tfp": "B2C_1_signupsignin1"`, "Powered by MSAL Go v1.10.1"} {
		if !strings.Contains(html.UnescapeString(home.Body), want) {
			t.Errorf("signed-in home lacks %q", want)
		}
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 1 || n["tokencache"] != 1 || n["used"] != 1 {
		t.Fatalf("rows after sign-in: %v", n)
	}

	// Logout is a POST from our page; GET only shows the button.
	page := testenv.Do(t, c, "GET", app.URL+"/logout", nil)
	if page.Status != 200 || !strings.Contains(page.Body, `id="sign-out"`) {
		t.Fatalf("GET /logout: %d", page.Status)
	}
	out := testenv.Do(t, c, "POST", app.URL+"/logout", url.Values{})
	if out.Status != http.StatusSeeOther || !strings.HasPrefix(out.Location, app.Emu.BrowserURL()) || !strings.Contains(out.Location, "post_logout_redirect_uri="+url.QueryEscape(app.URL+"/")) {
		t.Fatalf("POST /logout: %d %q", out.Status, out.Location)
	}
	end := testenv.Do(t, c, "GET", out.Location, nil)
	if end.Location != app.URL+"/" {
		t.Fatalf("end-session redirect: %d %q", end.Status, end.Location)
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 0 || n["tokencache"] != 0 {
		t.Fatalf("rows after logout: %v", n)
	}
	home = testenv.Do(t, c, "GET", app.URL+"/", nil)
	if !strings.Contains(home.Body, `id="sign-in"`) {
		t.Fatal("still signed in after logout")
	}
}

func TestLogoutRejectsCrossSitePost(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	req, _ := http.NewRequest("POST", app.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST /logout: %d, want 403", resp.StatusCode)
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 1 {
		t.Fatalf("session rows after a refused logout: %v", n)
	}
}

func TestProtectedPageReturnsAfterSignIn(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	r := testenv.Do(t, c, "GET", app.URL+"/private?tab=2", nil)
	if r.Status != http.StatusFound || r.Location != app.URL+"/login?next=%2Fprivate%3Ftab%3D2" {
		t.Fatalf("signed-out /private: %d %q", r.Status, r.Location)
	}
	back := testenv.SignIn(t, c, r.Location, alice.ObjectID).Location
	if back != app.URL+"/private?tab=2" && back != "/private?tab=2" {
		t.Fatalf("returned to %q, want /private?tab=2", back)
	}
	page := testenv.Do(t, c, "GET", app.URL+"/private?tab=2", nil)
	if page.Status != 200 || !strings.Contains(page.Body, `id="private-name">Alice Example<`) {
		t.Fatalf("/private signed in: %d\n%s", page.Status, page.Body)
	}
}

func TestNoOpenRedirect(t *testing.T) {
	app := startApp(t, appOptions{})
	for _, next := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example"} {
		t.Run(next, func(t *testing.T) {
			c := testenv.NewBrowser(t)
			back := testenv.SignIn(t, c, app.URL+"/login?next="+url.QueryEscape(next), alice.ObjectID).Location
			u, err := url.Parse(back)
			if err != nil || (u.Host != "" && u.Host != strings.TrimPrefix(app.URL, "http://")) || strings.HasPrefix(u.EscapedPath(), "//") {
				t.Fatalf("next=%q sent the browser to %q", next, back)
			}
		})
	}
}

// Each bad callback gets a 4xx page that says what happened, and never a
// session.
func TestCallbackRejects(t *testing.T) {
	for _, mode := range tenantModes {
		t.Run(mode.name, func(t *testing.T) { callbackRejects(t, mode) })
	}
}

func callbackRejects(t *testing.T, mode tenantMode) {
	app := startApp(t, appOptions{externalID: mode.externalID})
	tests := []struct {
		name      string
		callback  func(t *testing.T, c *http.Client) string
		wantTitle string
	}{
		{"no state", func(t *testing.T, c *http.Client) string { return app.URL + "/getAToken?code=abc" }, "Sign-in failed"},
		{"unknown state", func(t *testing.T, c *http.Client) string {
			return app.URL + "/getAToken?code=abc&state=" + strings.Repeat("A", 43)
		}, "Sign-in cookie missing"},
		{"malformed state", func(t *testing.T, c *http.Client) string { return app.URL + "/getAToken?code=abc&state=%00%FF" }, "Sign-in cookie missing"},
		{"replayed", func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
			if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.Status)
			}
			return cb
		}, "Sign-in expired"},
		{"forged code", func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("code", "forged-"+q.Get("code"))
			u.RawQuery = q.Encode()
			return u.String()
		}, "Sign-in failed"},
		{"no binding cookie", func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
			c.Jar = nil // a browser that dropped the cookie (Safari on http://localhost)
			return cb
		}, "Sign-in cookie missing"},
		{"started in another browser (login CSRF)", func(t *testing.T, c *http.Client) string {
			attacker := testenv.NewBrowser(t)
			action, tx := testenv.StartSignIn(t, attacker, app.URL+"/login")
			cb := testenv.EmulatorAnswer(t, attacker, action, tx, url.Values{"action": {"user"}, "user": {bob.ObjectID}})
			// The victim has a binding cookie of their own from an
			// earlier sign-in attempt.
			testenv.StartSignIn(t, c, app.URL+"/login")
			return cb
		}, "Sign-in started elsewhere"},
		{"B2C error", func(t *testing.T, c *http.Client) string {
			// A B2C error other than forgot-password or cancel, sent to our
			// redirect URI with this sign-in's state.
			r := testenv.Do(t, c, "GET", app.URL+"/login", nil)
			au, _ := url.Parse(r.Location)
			state := au.Query().Get("state")
			return app.URL + "/getAToken?error=server_error&error_description=" + url.QueryEscape("AADB2C90037: <b>An error occurred</b> while processing the request.") + "&state=" + state
		}, "Sign-in failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.NewBrowser(t)
			cb := tt.callback(t, c)
			before := testenv.Rows(t, app.Table)["session"]
			r := testenv.Do(t, c, "GET", cb, nil)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d, want 4xx\n%s", r.Status, r.Body)
			}
			if !strings.Contains(r.Body, `id="error-title">`+tt.wantTitle+`<`) || !strings.Contains(r.Body, `id="sign-in-again"`) {
				t.Fatalf("page lacks title %q and a sign-in link:\n%s", tt.wantTitle, r.Body)
			}
			if strings.Contains(r.Body, "<b>An error") || strings.Contains(r.Body, "goroutine") {
				t.Fatalf("page is unescaped or leaks a trace:\n%s", r.Body)
			}
			if after := testenv.Rows(t, app.Table)["session"]; after != before {
				t.Fatalf("sessions: %d before the refused callback, %d after", before, after)
			}
		})
	}
}

func TestCancelGoesHome(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"cancel"}})
	r := testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusSeeOther || (r.Location != app.URL+"/" && r.Location != "/") {
		t.Fatalf("cancel: %d %q", r.Status, r.Location)
	}
}

func TestBadCookieSignsOutQuietly(t *testing.T) {
	app := startApp(t, appOptions{})
	for _, value := range []string{"garbage", strings.Repeat("A", 43), strings.Repeat("%", 10)} {
		c := testenv.NewBrowser(t)
		req, _ := http.NewRequest("GET", app.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-session", Value: value})
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("cookie %q: status %d, want 200 signed out", value, resp.StatusCode)
		}
		if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "__Host-session=;") || !strings.Contains(sc, "Max-Age=0") {
			t.Errorf("cookie %q not cleared: %q", value, sc)
		}
	}
}

func TestStorageOutage(t *testing.T) {
	az := testenv.NewAzurite(t)
	app := startApp(t, appOptions{azurite: az})
	c := testenv.NewBrowser(t)
	if r := testenv.Do(t, c, "GET", app.URL+"/readyz", nil); r.Status != 200 {
		t.Fatalf("/readyz with everything up: %d %q", r.Status, r.Body)
	}
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)

	az.Stop()
	if r := testenv.Do(t, c, "GET", app.URL+"/readyz", nil); r.Status != http.StatusServiceUnavailable || r.Body != "not ready: session table\n" {
		t.Fatalf("/readyz with storage down: %d %q", r.Status, r.Body)
	}
	start := time.Now()
	r := testenv.Do(t, c, "GET", app.URL+"/", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "Service unavailable") {
		t.Fatalf("with storage down: %d\n%s", r.Status, r.Body)
	}
	t.Logf("503 page after %v with storage down", time.Since(start))
	if r := testenv.Do(t, c, "GET", app.URL+"/anonymous", nil); r.Status != http.StatusServiceUnavailable {
		// Anonymous pages still load the session when a cookie is sent.
		t.Logf("anonymous with cookie: %d", r.Status)
	}
	if r := testenv.Do(t, testenv.NewBrowser(t), "GET", app.URL+"/", nil); r.Status != 200 {
		t.Fatalf("signed-out visitor with storage down: %d, want 200", r.Status)
	}
	if r := testenv.Do(t, c, "GET", app.URL+"/healthz", nil); r.Status != 200 {
		t.Fatalf("/healthz with a cookie and storage down: %d, want 200", r.Status)
	}

	if err := az.Start(); err != nil {
		t.Fatal(err)
	}
	if r := testenv.Do(t, c, "GET", app.URL+"/readyz", nil); r.Status != 200 {
		t.Fatalf("/readyz after storage is back: %d %q", r.Status, r.Body)
	}
	r = testenv.Do(t, c, "GET", app.URL+"/", nil)
	if r.Status != 200 || !strings.Contains(r.Body, "Welcome, Alice Example") {
		t.Fatalf("after storage is back: %d, signed in %v", r.Status, strings.Contains(r.Body, "Welcome"))
	}
}

func TestTwoTabsSignInAtOnce(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	a1, tx1 := testenv.StartSignIn(t, c, app.URL+"/login?next=/anonymous")
	a2, tx2 := testenv.StartSignIn(t, c, app.URL+"/login?next=/private")
	cb1 := testenv.EmulatorAnswer(t, c, a1, tx1, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
	cb2 := testenv.EmulatorAnswer(t, c, a2, tx2, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
	for _, cb := range []string{cb2, cb1} {
		if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
			t.Fatalf("callback: %d\n%s", r.Status, r.Body)
		}
	}
	if r := testenv.Do(t, c, "GET", app.URL+"/private", nil); r.Status != 200 {
		t.Fatalf("/private after two sign-ins: %d", r.Status)
	}
	// The second sign-in replaced the first session: one session row left.
	if n := testenv.Rows(t, app.Table); n["session"] != 1 {
		t.Fatalf("rows: %v", n)
	}
}

// B2C rotates its signing keys: a token signed with a key the app has not
// seen makes the key set refetch, once, and the sign-in succeeds.
func TestKeyRotation(t *testing.T) {
	app := startApp(t, appOptions{})
	testenv.SignIn(t, testenv.NewBrowser(t), app.URL+"/login", alice.ObjectID)
	app.Emu.RotateKey()
	app.Emu.ResetRequests()
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", bob.ObjectID)
	if h := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(h.Body, "Welcome, Bob Example") {
		t.Fatal("sign-in after key rotation failed")
	}
	keys := 0
	for _, r := range app.Emu.Requests() {
		if r.Endpoint == "keys" {
			keys++
		}
	}
	if keys != 1 {
		t.Fatalf("key set fetched %d times after rotation, want 1", keys)
	}
}

// B2C unreachable: a clear 502 page, and nothing stored.
func TestB2CUnreachable(t *testing.T) {
	app := startApp(t, appOptions{})
	app.Emu.Close()
	start := time.Now()
	r := testenv.Do(t, testenv.NewBrowser(t), "GET", app.URL+"/login", nil)
	if r.Status != http.StatusBadGateway || !strings.Contains(r.Body, "Sign-in service unreachable") {
		t.Fatalf("/login with B2C down: %d\n%s", r.Status, r.Body)
	}
	t.Logf("502 after %v", time.Since(start))
	if n := testenv.Rows(t, app.Table); len(n) != 0 {
		t.Fatalf("rows written: %v", n)
	}
	if r := testenv.Do(t, testenv.NewBrowser(t), "GET", app.URL+"/readyz", nil); r.Status != http.StatusServiceUnavailable || r.Body != "not ready: sign-in service\n" {
		t.Fatalf("/readyz with B2C down: %d %q", r.Status, r.Body)
	}
}
