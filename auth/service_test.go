package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestSignIn(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)

	login := testenv.Get(t, c, s.URL+"/login?next="+url.QueryEscape("/private?tab=2"))
	if login.Status != http.StatusFound || !strings.HasPrefix(login.Location, s.Emu.BrowserURL()+"/") {
		t.Fatalf("GET /login: %d %q, want 302 to the emulator", login.Status, login.Location)
	}
	pending := pendingCookie(login)
	if pending == nil {
		t.Fatalf("GET /login set no %s cookie: %v", auth.PendingCookiePrefix, login.Cookies)
	}
	checkCookie(t, pending, pending.Name)
	if n := testenv.Rows(t, s.Table); len(n) != 0 {
		t.Fatalf("rows after /login: %v, want none (the sign-in's state is in its cookie)", n)
	}

	action, tx := testenv.StartSignIn(t, c, s.URL+"/login?next="+url.QueryEscape("/private?tab=2"))
	cb := testenv.EmulatorAnswer(t, c, action, tx, testenv.ChooseUser(alice.ObjectID))
	if !strings.HasPrefix(cb, s.URL+"/getAToken?") {
		t.Fatalf("the emulator sent the browser to %q, want the redirect URL", cb)
	}
	r := testenv.Get(t, c, cb)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/private?tab=2" {
		t.Fatalf("callback: %d %q, want 303 to /private?tab=2\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	s.noFailure(t)
	sc := r.Cookie(auth.SessionCookie)
	checkCookie(t, sc, auth.SessionCookie)
	if sc.Value == "" || sc.MaxAge <= 0 {
		t.Errorf("session cookie value %q, Max-Age %d", sc.Value, sc.MaxAge)
	}

	want := shownUser{Name: alice.Name, Email: alice.Email, ObjectID: alice.ObjectID, Subject: alice.ObjectID, Policy: testenv.SignUpSignIn}
	if got := s.shown(t, c); got != want {
		t.Fatalf("claims seen behind RequireSignIn:\n got %+v\nwant %+v", got, want)
	}
	// The finished sign-in left the mark of its used state; the abandoned
	// one left nothing but its cookie, which expires.
	if n := testenv.Rows(t, s.Table); n["session"] != 1 || n["tokencache"] != 1 || n["used"] != 1 || len(n) != 3 {
		t.Fatalf("rows after sign-in: %v", n)
	}
}

// checkCookie checks the attributes every cookie of the package carries.
func checkCookie(t *testing.T, c *http.Cookie, name string) {
	t.Helper()
	switch {
	case c == nil:
		t.Fatalf("no %s cookie set", name)
	case !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "":
		t.Errorf("%s cookie: HttpOnly %v, Secure %v, SameSite %v, Path %q, Domain %q; want HttpOnly, Secure, Lax, /, no domain",
			name, c.HttpOnly, c.Secure, c.SameSite, c.Path, c.Domain)
	}
}

// A second sign-in in the same browser replaces the session: new ID, and
// the old session's rows are gone.
func TestSignInAgainReplacesSession(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	first := testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID).Cookie(auth.SessionCookie)
	second := testenv.SignIn(t, c, s.URL+"/login", bob.ObjectID).Cookie(auth.SessionCookie)
	if first == nil || second == nil || first.Value == second.Value {
		t.Fatalf("session cookies %v then %v, want two different IDs", first, second)
	}
	if got := s.shown(t, c); got.ObjectID != bob.ObjectID {
		t.Fatalf("signed in as %+v, want Bob", got)
	}
	if n := testenv.Rows(t, s.Table); n["session"] != 1 || n["tokencache"] != 1 {
		t.Fatalf("rows: %v, want one session", n)
	}
	old := testenv.NewBrowser(t)
	old.Jar.SetCookies(testenv.ParseURL(t, s.URL), []*http.Cookie{{Name: auth.SessionCookie, Value: first.Value}})
	if r := testenv.Get(t, old, s.URL+"/private"); r.Status != http.StatusFound {
		t.Fatalf("the replaced session still serves /private: %d", r.Status)
	}
}

func TestNoOpenRedirect(t *testing.T) {
	s := startSite(t, siteOptions{})
	for _, next := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"} {
		t.Run(next, func(t *testing.T) {
			r := testenv.SignIn(t, testenv.NewBrowser(t), s.URL+"/login?next="+url.QueryEscape(next), alice.ObjectID)
			if r.Header.Get("Location") != "/" {
				t.Fatalf("next=%q: after sign-in, Location %q, want /", next, r.Header.Get("Location"))
			}
		})
	}
}

// Each bad callback is reported as a Failure of its Kind, with that Kind's
// status, and never creates a session.
func TestCallbackFailures(t *testing.T) {
	s := startSite(t, siteOptions{})
	// stateOf starts a sign-in in c and returns its state, as B2C would send
	// it back.
	stateOf := func(t *testing.T, c *http.Client) string {
		t.Helper()
		r := testenv.Get(t, c, s.URL+"/login")
		return testenv.ParseURL(t, r.Location).Query().Get("state")
	}
	tests := []struct {
		name     string
		callback func(t *testing.T, c *http.Client) string
		kind     auth.Kind
		check    func(t *testing.T, f *auth.Failure)
	}{
		{name: "no state", kind: auth.BadResponse, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?code=abc"
		}},
		{name: "neither code nor error", kind: auth.BadResponse, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?state=" + stateOf(t, c)
		}},
		{name: "unknown state", kind: auth.BindingMissing, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?code=abc&state=" + strings.Repeat("A", 43)
		}},
		{name: "malformed state", kind: auth.BindingMissing, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?code=abc&state=%00%FF"
		}},
		{name: "replayed", kind: auth.SignInExpired, callback: func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, s.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, testenv.ChooseUser(alice.ObjectID))
			if r := testenv.Get(t, c, cb); r.Status != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.Status)
			}
			return cb
		}},
		// A state this browser never started: it keeps no cookie of it.
		{name: "sign-in cookie missing", kind: auth.BindingMissing, callback: func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, s.URL+"/login")
			cb := testenv.EmulatorAnswer(t, c, action, tx, testenv.ChooseUser(alice.ObjectID))
			c.Jar, _ = cookiejar.New(nil) // a browser that dropped the cookie
			return cb
		}},
		{name: "forged code", kind: auth.Rejected, callback: func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, s.URL+"/login")
			u := testenv.ParseURL(t, testenv.EmulatorAnswer(t, c, action, tx, testenv.ChooseUser(alice.ObjectID)))
			q := u.Query()
			q.Set("code", "forged-"+q.Get("code"))
			u.RawQuery = q.Encode()
			return u.String()
		}, check: func(t *testing.T, f *auth.Failure) {
			if f.Description == "" {
				t.Error("Rejected without a Description")
			}
		}},
		{name: "B2C error", kind: auth.ProviderError, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?" + url.Values{
				"state": {stateOf(t, c)}, "error": {"server_error"},
				"error_description": {"AADB2C90037: An error occurred while processing the request."},
			}.Encode()
		}, check: func(t *testing.T, f *auth.Failure) {
			if f.Code != "AADB2C90037" || f.Description != "AADB2C90037: An error occurred while processing the request." {
				t.Errorf("Code %q, Description %q", f.Code, f.Description)
			}
		}},
		{name: "OAuth error without a B2C code", kind: auth.ProviderError, callback: func(t *testing.T, c *http.Client) string {
			return s.URL + "/getAToken?" + url.Values{
				"state": {stateOf(t, c)}, "error": {"invalid_request"}, "error_description": {"The request is malformed."},
			}.Encode()
		}, check: func(t *testing.T, f *auth.Failure) {
			if f.Code != "invalid_request" {
				t.Errorf("Code %q, want the OAuth error code", f.Code)
			}
		}},
		{name: "forgot password without a reset flow", kind: auth.ProviderError, callback: func(t *testing.T, c *http.Client) string {
			action, tx := testenv.StartSignIn(t, c, s.URL+"/login")
			return testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"forgot"}})
		}, check: func(t *testing.T, f *auth.Failure) {
			if f.Code != "AADB2C90118" {
				t.Errorf("Code %q, want AADB2C90118", f.Code)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.NewBrowser(t)
			cb := tt.callback(t, c)
			s.noFailure(t)
			before := testenv.Rows(t, s.Table)["session"]
			r := testenv.Get(t, c, cb)
			if r.Status != tt.kind.Status() {
				t.Errorf("status %d, want %d", r.Status, tt.kind.Status())
			}
			f := s.takeFailure(t)
			if f.Kind != tt.kind {
				t.Fatalf("Kind %v (%v), want %v", f.Kind, f, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
			if r.Cookie(auth.SessionCookie) != nil {
				t.Error("a refused callback set a session cookie")
			}
			if after := testenv.Rows(t, s.Table)["session"]; after != before {
				t.Errorf("sessions: %d before the refused callback, %d after", before, after)
			}
		})
	}
}

// Login CSRF: a callback carried to another browser is refused there, and
// leaves the sign-in for the browser that started it to finish.
func TestCallbackInAnotherBrowser(t *testing.T) {
	s := startSite(t, siteOptions{})
	victim, attacker := testenv.NewBrowser(t), testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, victim, s.URL+"/login?next=/private")
	cb := testenv.EmulatorAnswer(t, victim, action, tx, testenv.ChooseUser(alice.ObjectID))
	// The other browser has a sign-in of its own under way.
	testenv.StartSignIn(t, attacker, s.URL+"/login")

	r := testenv.Get(t, attacker, cb)
	if f := s.takeFailure(t); f.Kind != auth.BindingMismatch || r.Status != http.StatusBadRequest {
		t.Fatalf("callback in another browser: %d, Kind %v, want 400 %v", r.Status, f.Kind, auth.BindingMismatch)
	}
	if r.Cookie(auth.SessionCookie) != nil || testenv.Rows(t, s.Table)["session"] != 0 {
		t.Fatal("the other browser got a session")
	}

	r = testenv.Get(t, victim, cb)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/private" {
		t.Fatalf("the rightful callback after the refused one: %d %q\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	s.noFailure(t)
	if got := s.shown(t, victim); got.ObjectID != alice.ObjectID {
		t.Fatalf("victim signed in as %+v, want Alice", got)
	}
	if r := testenv.Get(t, attacker, s.URL+"/private"); r.Status != http.StatusFound {
		t.Fatalf("the other browser reaches /private: %d", r.Status)
	}
}

// Cancel at B2C (AADB2C90091) goes home quietly, without an error page.
func TestCancelGoesHome(t *testing.T) {
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.HomePath = "/welcome" }})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, s.URL+"/login?next=/private")
	r := testenv.Get(t, c, testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"cancel"}}))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/welcome" {
		t.Fatalf("cancel: %d %q, want 303 to /welcome", r.Status, r.Header.Get("Location"))
	}
	s.noFailure(t)
	if r.Cookie(auth.SessionCookie) != nil || testenv.Rows(t, s.Table)["session"] != 0 {
		t.Fatal("a cancelled sign-in created a session")
	}
}

func TestRequireSignIn(t *testing.T) {
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.LoginPath = "/auth/sign-in" }})
	c := testenv.NewBrowser(t)

	r := testenv.Get(t, c, s.URL+"/private?tab=2&x=a%20b")
	if want := "/auth/sign-in?next=" + url.QueryEscape("/private?tab=2&x=a%20b"); r.Status != http.StatusFound || r.Header.Get("Location") != want {
		t.Fatalf("signed-out GET: %d %q, want 302 to %q", r.Status, r.Header.Get("Location"), want)
	}
	s.noFailure(t)

	r = testenv.Do(t, c, "POST", s.URL+"/private", url.Values{"x": {"1"}})
	if f := s.takeFailure(t); f.Kind != auth.SignInRequired || r.Status != http.StatusUnauthorized {
		t.Fatalf("signed-out POST: %d, Kind %v, want 401 %v", r.Status, f.Kind, auth.SignInRequired)
	}

	// The redirect leads through sign-in and back to the page.
	back := testenv.SignIn(t, c, s.URL+"/auth/sign-in?next="+url.QueryEscape("/private?tab=2"), alice.ObjectID)
	if back.Header.Get("Location") != "/private?tab=2" {
		t.Fatalf("after sign-in: Location %q", back.Header.Get("Location"))
	}
	if r := testenv.Do(t, c, "POST", s.URL+"/private", url.Values{"x": {"1"}}); r.Status != http.StatusOK {
		t.Fatalf("signed-in POST: %d", r.Status)
	}
	s.noFailure(t)
}

// A cookie that names no session signs the visitor out quietly.
func TestUnknownSessionCookie(t *testing.T) {
	s := startSite(t, siteOptions{})
	for _, value := range []string{"garbage", strings.Repeat("A", 43)} {
		c := testenv.NewBrowser(t)
		c.Jar.SetCookies(testenv.ParseURL(t, s.URL), []*http.Cookie{{Name: auth.SessionCookie, Value: value}})
		r := testenv.Get(t, c, s.URL+"/private")
		if r.Status != http.StatusFound {
			t.Errorf("cookie %q: /private %d, want 302 signed out", value, r.Status)
		}
		if ck := r.Cookie(auth.SessionCookie); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("cookie %q not cleared: %v", value, ck)
		}
	}
	s.noFailure(t)
}

func TestSignOut(t *testing.T) {
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.HomePath = "/bye" }})
	c := testenv.NewBrowser(t)
	sessionID := testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID).Cookie(auth.SessionCookie).Value
	if n := testenv.Rows(t, s.Table); n["session"] != 1 || n["tokencache"] != 1 {
		t.Fatalf("rows after sign-in: %v", n)
	}

	r := testenv.Do(t, c, "POST", s.URL+"/logout", url.Values{})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /logout: %d\n%s", r.Status, r.Body)
	}
	s.noFailure(t)
	if ck := r.Cookie(auth.SessionCookie); ck == nil || ck.Value != "" || ck.MaxAge >= 0 {
		t.Errorf("session cookie not cleared: %v", ck)
	}
	// Only the mark of the used state stays, until the sweep.
	if n := testenv.Rows(t, s.Table); len(n) != 1 || n["used"] != 1 {
		t.Errorf("rows after sign-out: %v, want only the used state's mark", n)
	}
	end := testenv.ParseURL(t, r.Location)
	if origin := end.Scheme + "://" + end.Host; origin != s.Emu.BrowserURL() || !strings.HasSuffix(strings.ToLower(end.Path), "/oauth2/v2.0/logout") {
		t.Fatalf("sign-out sent the browser to %q, want the emulator's end-session endpoint", r.Location)
	}
	if got := end.Query().Get("post_logout_redirect_uri"); got != s.URL+"/bye" {
		t.Errorf("post_logout_redirect_uri %q, want %q", got, s.URL+"/bye")
	}
	if back := testenv.Get(t, c, r.Location); back.Status != http.StatusFound || back.Location != s.URL+"/bye" {
		t.Errorf("end-session endpoint: %d %q, want 302 to %s/bye", back.Status, back.Location, s.URL)
	}

	if r := testenv.Get(t, c, s.URL+"/private"); r.Status != http.StatusFound {
		t.Fatalf("/private after sign-out: %d, want 302", r.Status)
	}
	// The session ended on the server, not only in this browser's jar.
	other := testenv.NewBrowser(t)
	other.Jar.SetCookies(testenv.ParseURL(t, s.URL), []*http.Cookie{{Name: auth.SessionCookie, Value: sessionID}})
	if r := testenv.Get(t, other, s.URL+"/private"); r.Status != http.StatusFound {
		t.Fatalf("/private with the signed-out session's cookie: %d, want 302", r.Status)
	}
}

func TestSignOutSignedOut(t *testing.T) {
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.HomePath = "/bye" }})
	r := testenv.Do(t, testenv.NewBrowser(t), "POST", s.URL+"/logout", url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/bye" {
		t.Fatalf("signed-out POST /logout: %d %q, want 303 to /bye", r.Status, r.Header.Get("Location"))
	}
	s.noFailure(t)
}

func TestAccessToken(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)

	if r := testenv.Get(t, c, s.URL+"/token"); r.Status != http.StatusUnauthorized {
		t.Fatalf("/token signed out: %d, want 401 from ErrSignInRequired\n%s", r.Status, r.Body)
	}
	if _, err := s.Svc.AccessToken(context.Background(), []string{testenv.APIScope}); !errors.Is(err, auth.ErrSignInRequired) {
		t.Fatalf("AccessToken without a user: %v, want ErrSignInRequired", err)
	}

	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	r := testenv.Get(t, c, s.URL+"/token")
	if r.Status != http.StatusOK || r.Body == "" {
		t.Fatalf("/token signed in: %d\n%s", r.Status, r.Body)
	}
	s.noFailure(t)
	// The emulator's API checks the token: signature, issuer, audience,
	// lifetime and scope.
	got := callAPI(t, s, r.Body)
	if got.OID != alice.ObjectID || len(got.Scopes) != 1 || got.Scopes[0] != "tasks.read" {
		t.Fatalf("the API saw %+v", got)
	}
	// A second call is served from the session's token cache.
	s.Emu.ResetRequests()
	if again := testenv.Get(t, c, s.URL+"/token"); again.Status != http.StatusOK {
		t.Fatalf("second /token: %d", again.Status)
	}
	for _, req := range s.Emu.Requests() {
		if req.Endpoint == "token" {
			t.Fatalf("the token endpoint was called (%s) for a cached access token", req.GrantType)
		}
	}
}

type apiAnswer struct {
	OID    string   `json:"oid"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// callAPI calls the emulator's protected API with token.
func callAPI(t *testing.T, s *site, token string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", s.Emu.APIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the API refused the token: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEditProfile(t *testing.T) {
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.HomePath = "/home" }})
	c := testenv.NewBrowser(t)
	sessionID := testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID).Cookie(auth.SessionCookie).Value

	action, tx := testenv.StartSignIn(t, c, s.URL+"/editProfile")
	if !strings.Contains(strings.ToLower(action), "/"+strings.ToLower(testenv.ProfileEdit)+"/") {
		t.Fatalf("/editProfile started %q, want the profile-editing flow", action)
	}
	// No SSO in the emulator: the user proves who they are, then edits.
	page := testenv.Do(t, c, "POST", action, url.Values{"tx": {tx}, "action": {"user"}, "user": {alice.ObjectID}})
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="given-name"`) {
		t.Fatalf("profile form: %d\n%s", page.Status, page.Body)
	}
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"profile"}, "name": {"Alice Renamed"}, "given-name": {"Alice"}, "family-name": {"Renamed"}})
	r := testenv.Get(t, c, cb)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/home" {
		t.Fatalf("profile callback: %d %q, want 303 to /home\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	s.noFailure(t)

	want := shownUser{Name: "Alice Renamed", Email: alice.Email, ObjectID: alice.ObjectID, Subject: alice.ObjectID, Policy: testenv.ProfileEdit}
	if got := s.shown(t, c); got != want {
		t.Fatalf("claims after the edit:\n got %+v\nwant %+v", got, want)
	}
	// The same session, and its API account still serves tokens.
	if ck := r.Cookie(auth.SessionCookie); ck != nil && ck.Value != sessionID {
		t.Error("the profile edit replaced the session")
	}
	if n := testenv.Rows(t, s.Table); n["session"] != 1 || n["tokencache"] != 1 {
		t.Fatalf("rows after the edit: %v", n)
	}
	if tok := testenv.Get(t, c, s.URL+"/token"); tok.Status != http.StatusOK {
		t.Fatalf("/token after the edit: %d", tok.Status)
	} else if got := callAPI(t, s, tok.Body); got.OID != alice.ObjectID {
		t.Fatalf("the API saw %+v", got)
	}
}

// A profile edit that comes back signed in as someone else changes nothing.
func TestEditProfileAsAnotherUser(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	cb := testenv.EmulatorProfileEdit(t, c, s.URL+"/editProfile", bob.ObjectID, url.Values{"action": {"profile"}, "name": {"Bob Renamed"}})
	r := testenv.Get(t, c, cb)
	if f := s.takeFailure(t); f.Kind != auth.ProfileEditOtherUser || r.Status != http.StatusBadRequest {
		t.Fatalf("profile edit as Bob in Alice's session: %d, Kind %v", r.Status, f.Kind)
	}
	if got := s.shown(t, c); got.Name != alice.Name || got.Policy != testenv.SignUpSignIn {
		t.Fatalf("Alice's session changed: %+v", got)
	}
}

// A profile edit whose session ended meanwhile is refused.
func TestEditProfileAfterSignOut(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	cb := testenv.EmulatorProfileEdit(t, c, s.URL+"/editProfile", alice.ObjectID, url.Values{"action": {"profile"}, "name": {"Alice Renamed"}})
	if r := testenv.Do(t, c, "POST", s.URL+"/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /logout: %d", r.Status)
	}
	r := testenv.Get(t, c, cb)
	if f := s.takeFailure(t); f.Kind != auth.ProfileEditEnded || r.Status != http.StatusBadRequest {
		t.Fatalf("profile callback after sign-out: %d, Kind %v", r.Status, f.Kind)
	}
	if r.Cookie(auth.SessionCookie) != nil || testenv.Rows(t, s.Table)["session"] != 0 {
		t.Fatal("a profile callback after sign-out created a session")
	}
}

func TestEditProfileOff(t *testing.T) {
	s := startSite(t, siteOptions{
		config: func(c *auth.Config) { c.ProfileEditPolicy = "" },
		routes: func(mux *http.ServeMux, svc *auth.Service) { mux.Handle("GET /edit", svc.EditProfileHandler()) },
	})
	if s.Svc.ProfileEditEnabled() {
		t.Fatal("ProfileEditEnabled with no profile-editing user flow")
	}
	c := testenv.NewBrowser(t)
	if r := testenv.Get(t, c, s.URL+"/edit"); r.Status != http.StatusFound || r.Header.Get("Location") != "/login?next=%2Fedit" {
		t.Fatalf("signed-out /edit: %d %q, want 302 through sign-in", r.Status, r.Header.Get("Location"))
	}
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	if r := testenv.Get(t, c, s.URL+"/editProfile"); r.Status != http.StatusNotFound {
		t.Fatalf("Mount registered /editProfile without a profile flow: %d", r.Status)
	}
	s.noFailure(t)
	r := testenv.Get(t, c, s.URL+"/edit")
	if f := s.takeFailure(t); f.Kind != auth.ProfileEditOff || r.Status != http.StatusNotFound {
		t.Fatalf("/edit: %d, Kind %v, want 404 %v", r.Status, f.Kind, auth.ProfileEditOff)
	}
	if pendingCookie(r) != nil {
		t.Fatalf("a refused profile edit started a sign-in: %v", r.Cookies)
	}
}

func TestReady(t *testing.T) {
	s := startSite(t, siteOptions{})
	if err := s.Svc.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with everything up: %v", err)
	}
}

func TestReadySignInServiceDown(t *testing.T) {
	s := startSite(t, siteOptions{})
	s.Emu.Close()
	err := s.Svc.Ready(t.Context())
	var nr *auth.NotReadyError
	if !errors.As(err, &nr) || nr.Dependency != "sign-in service" || nr.Err == nil {
		t.Fatalf("Ready with the emulator closed: %v, want a *NotReadyError for the sign-in service", err)
	}
}

// Ready answers from the discovery cache sign-ins use: B2C that has gone
// since its document was fetched leaves the site ready, and Ready fetches
// nothing more.
func TestReadyFromDiscoveryCache(t *testing.T) {
	s := startSite(t, siteOptions{})
	if err := s.Svc.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with everything up: %v", err)
	}
	s.Emu.Close()
	if err := s.Svc.Ready(t.Context()); err != nil {
		t.Fatalf("Ready after the emulator closed: %v, want ready from the cached document", err)
	}
}

func TestReadyTableMissing(t *testing.T) {
	az := testenv.SharedAzurite(t)
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	missing := svc.NewClient("tmissing" + strings.ToLower(rand.Text()))
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.Table = missing }})
	err = s.Svc.Ready(t.Context())
	var nr *auth.NotReadyError
	if !errors.As(err, &nr) || nr.Dependency != "session table" || nr.Err == nil {
		t.Fatalf("Ready without the table: %v, want a *NotReadyError for the session table", err)
	}
}

// Every sign-in under way has a cookie of its own, so tabs can sign in at
// once; past four, the older ones are dropped, so unfinished sign-ins
// cannot grow every request's headers without bound.
func TestPendingCookiesBounded(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	for range 9 {
		testenv.Get(t, c, s.URL+"/login")
	}
	n := 0
	for _, ck := range c.Jar.Cookies(testenv.ParseURL(t, s.URL)) {
		if strings.HasPrefix(ck.Name, auth.PendingCookiePrefix) {
			n++
		}
	}
	if n == 0 || n > 4 {
		t.Fatalf("%d sign-in cookies after 9 sign-ins started, want 1 to 4", n)
	}
	if rows := testenv.Rows(t, s.Table); len(rows) != 0 {
		t.Fatalf("starting sign-ins wrote rows: %v", rows)
	}
}
