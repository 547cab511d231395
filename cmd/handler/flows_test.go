package main

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// tokenCalls counts the emulator's token-endpoint calls by grant type.
func tokenCalls(app *testApp) map[string]int {
	n := map[string]int{}
	for _, r := range app.Emu.Requests() {
		if r.Endpoint == "token" {
			n[r.GrantType]++
		}
	}
	return n
}

func graphcall(t *testing.T, app *testApp, c *http.Client) testenv.Response {
	t.Helper()
	return testenv.Do(t, c, "GET", app.URL+"/graphcall", nil)
}

func TestGraphcallUsesCachedToken(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	app.Emu.ResetRequests()
	for range 3 {
		r := graphcall(t, app, c)
		if r.Status != 200 || !strings.Contains(html.UnescapeString(r.Body), `"name": "Alice Example"`) {
			t.Fatalf("/graphcall: %d\n%s", r.Status, r.Body)
		}
	}
	if n := tokenCalls(app); len(n) != 0 {
		t.Fatalf("token endpoint called %v; the cached access token should serve", n)
	}
}

// MSAL treats an access token within 5 minutes of expiry as expired, and it
// reads the real clock. With a 303 s lifetime the token is fresh for 3 s.
const shortLifetime = 303 * time.Second

func waitPastRefreshWindow(issued time.Time) {
	time.Sleep(time.Until(issued.Add(shortLifetime - 5*time.Minute + 500*time.Millisecond)))
}

// The access token is refreshed once it is in MSAL's window, and the
// rotated refresh token is stored: with reuse detection on, refreshing
// with a stale one would fail.
func TestGraphcallRefreshes(t *testing.T) {
	app := startApp(t, appOptions{accessTokenLifetime: shortLifetime, reuseDetection: true})
	c := testenv.NewBrowser(t)
	issued := time.Now()
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	app.Emu.ResetRequests()
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("first /graphcall: %d", r.Status)
	}
	if n := tokenCalls(app); len(n) != 0 {
		t.Fatalf("first call refreshed: %v", n)
	}
	for want := 1; want <= 2; want++ {
		waitPastRefreshWindow(issued)
		issued = time.Now()
		if r := graphcall(t, app, c); r.Status != 200 {
			t.Fatalf("/graphcall past window %d: %d\n%s", want, r.Status, r.Body)
		}
		if n := tokenCalls(app); n["refresh_token"] != want || len(n) != 1 {
			t.Fatalf("token calls %v, want %d refreshes", n, want)
		}
	}
}

// Concurrent requests on one session that all need a refresh: no error page
// and no lost update of the token cache.
func TestConcurrentRefresh(t *testing.T) {
	app := startApp(t, appOptions{accessTokenLifetime: shortLifetime})
	c := testenv.NewBrowser(t)
	signedIn := time.Now()
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	waitPastRefreshWindow(signedIn)
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for range 6 {
		wg.Go(func() { statuses <- graphcall(t, app, c).Status })
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("concurrent /graphcall: %d", s)
		}
	}
	// The stored cache still works: the latest rotated refresh token is in it.
	time.Sleep(10 * time.Millisecond)
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall after the race: %d", r.Status)
	}
	t.Logf("token calls: %v", tokenCalls(app))
}

// A session whose token cache is gone behaves as signed out for the API:
// one trip through sign-in, back to /graphcall, no loop.
func TestMissingTokenCache(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	deleteRows(t, app, "tokencache")
	r := graphcall(t, app, c)
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, app.Emu.BrowserURL()) {
		t.Fatalf("/graphcall without a cache: %d %q, want a redirect to sign-in", r.Status, r.Location)
	}
	back := testenv.SignIn(t, c, app.URL+"/graphcall", alice.ObjectID).Location
	if !strings.HasSuffix(back, "/graphcall") {
		t.Fatalf("after sign-in went to %q", back)
	}
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall after signing in again: %d", r.Status)
	}
}

func deleteRows(t *testing.T, app *testApp, rowKey string) {
	t.Helper()
	filter := "RowKey eq '" + rowKey + "'"
	for _, e := range testenv.Entities(t, app.Table, &aztables.ListEntitiesOptions{Filter: &filter}) {
		if _, err := app.Table.DeleteEntity(context.Background(), e.PartitionKey, rowKey, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPIFailureKeepsSession(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	app.Emu.Close() // the API stand-in goes down with it
	r := graphcall(t, app, c)
	if r.Status != http.StatusBadGateway || !strings.Contains(r.Body, "API call failed") {
		t.Fatalf("/graphcall with the API down: %d\n%s", r.Status, r.Body)
	}
	if h := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(h.Body, "Welcome, Alice Example") {
		t.Fatal("the session was lost")
	}
}

func TestEditProfile(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/editProfile")
	// No SSO in the emulator: the user proves who they are, then edits.
	page := testenv.Do(t, c, "POST", action, url.Values{"tx": {tx}, "action": {"user"}, "user": {alice.ObjectID}})
	if page.Status != 200 || !strings.Contains(page.Body, `id="given-name"`) {
		t.Fatalf("profile form: %d\n%s", page.Status, page.Body)
	}
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"profile"}, "name": {"Alice Renamed"}, "given-name": {"Alice"}, "family-name": {"Renamed"}})
	if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("profile callback: %d\n%s", r.Status, r.Body)
	}
	home := html.UnescapeString(testenv.Do(t, c, "GET", app.URL+"/", nil).Body)
	if !strings.Contains(home, "Welcome, Alice Renamed") || !strings.Contains(home, `"tfp": "B2C_1_profileediting1"`) {
		t.Fatalf("home after the edit:\n%s", home)
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 1 {
		t.Fatalf("rows: %v", n)
	}
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall after the edit: %d", r.Status)
	}
	// The sign-out's id_token_hint is still the sign-in's token, whole and
	// with its signature good, though the session holds the edited claims
	// and keeps the token without its payload.
	out := testenv.Do(t, c, "POST", app.URL+"/logout", url.Values{})
	_, payload, _ := strings.Cut(mustQuery(t, out.Location).Get("id_token_hint"), ".")
	payload, _, _ = strings.Cut(payload, ".")
	claims, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !strings.Contains(string(claims), `"oid"`) || strings.Contains(string(claims), "Renamed") {
		t.Fatalf("id_token_hint's claims %s, %v: want the sign-in's", claims, err)
	}
	if b2c := testenv.Do(t, c, "GET", out.Location, nil); b2c.Status != http.StatusFound || b2c.Location != app.URL+"/" {
		t.Fatalf("B2C's end-session endpoint: %d %q\n%s", b2c.Status, b2c.Location, b2c.Body)
	}
}

func TestForgotPassword(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login?next=/private")
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"forgot"}})
	// AADB2C90118 at the callback starts the reset user flow at once.
	r := testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusFound || !strings.Contains(strings.ToLower(r.Location), "/b2c_1_passwordreset1/oauth2/v2.0/authorize") {
		t.Fatalf("forgot password: %d %q", r.Status, r.Location)
	}
	action, tx = testenv.EmulatorForm(t, c, r.Location)
	cb = testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"reset"}, "user": {alice.ObjectID}, "new-password": {"N3w-passw0rd"}})
	r = testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "/private") {
		t.Fatalf("reset callback: %d %q", r.Status, r.Location)
	}
	// Documented: the reset flow signs the user in, and its account serves
	// the API.
	home := html.UnescapeString(testenv.Do(t, c, "GET", app.URL+"/", nil).Body)
	if !strings.Contains(home, "Welcome, Alice Example") || !strings.Contains(home, `"tfp": "B2C_1_passwordreset1"`) {
		t.Fatalf("home after reset:\n%s", home)
	}
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall after reset: %d", r.Status)
	}
}

func TestForgotPasswordWithoutResetFlow(t *testing.T) {
	app := startApp(t, appOptions{noResetPolicy: true})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"forgot"}})
	r := testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "AADB2C90118") {
		t.Fatalf("forgot password with no reset flow: %d\n%s", r.Status, r.Body)
	}
}

// B2C's newer sign-up/sign-in flow resets the password inside the flow and
// never sends AADB2C90118.
func TestEmbeddedPasswordReset(t *testing.T) {
	app := startApp(t, appOptions{susiKind: emulator.SignUpSignInWithReset})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	page := testenv.Do(t, c, "POST", action, url.Values{"tx": {tx}, "action": {"forgot"}})
	if page.Status != 200 || !strings.Contains(page.Body, `id="reset-`+alice.ObjectID+`"`) {
		t.Fatalf("embedded reset page: %d\n%s", page.Status, page.Body)
	}
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"reset"}, "user": {alice.ObjectID}})
	if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", r.Status, r.Body)
	}
	if r := graphcall(t, app, c); r.Status != 200 {
		t.Fatalf("/graphcall: %d", r.Status)
	}
}

func TestEditProfileSignedOut(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	r := testenv.Do(t, c, "GET", app.URL+"/editProfile", nil)
	if r.Status != http.StatusFound || r.Location != app.URL+"/login?next=%2FeditProfile" {
		t.Fatalf("signed-out /editProfile: %d %q", r.Status, r.Location)
	}
}

// A profile edit that comes back signed in as someone else (B2C's session
// switched in another tab) changes nothing.
func TestEditProfileAsAnotherUser(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID)
	cb := testenv.EmulatorProfileEdit(t, c, app.URL+"/editProfile", bob.ObjectID, url.Values{"action": {"profile"}, "name": {"Bob Renamed"}})
	r := testenv.Do(t, c, "GET", cb, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "another user") {
		t.Fatalf("profile edit as Bob in Alice's session: %d\n%s", r.Status, r.Body)
	}
	if home := testenv.Do(t, c, "GET", app.URL+"/", nil); !strings.Contains(home.Body, "Welcome, Alice Example") {
		t.Fatal("Alice's session changed")
	}
}

// When B2C refuses the refresh token right after sign-in, /graphcall says
// so instead of sending the browser round sign-in for ever.
func TestNoSignInLoop(t *testing.T) {
	app := startApp(t, appOptions{accessTokenLifetime: shortLifetime})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	issued := time.Now()
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}})
	if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d", r.Status)
	}
	// Redeeming the code a second time makes the emulator revoke the refresh
	// tokens the code produced, as B2C does.
	u, _ := url.Parse(cb)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "client_id": {testenv.ClientID},
		"client_secret": {testSecret}, "redirect_uri": {app.URL + "/getAToken"}, "code_verifier": {"x"}}
	tokenURL := app.Emu.Authority(testenv.SignUpSignIn) + "/oauth2/v2.0/token"
	tlsClient := testenv.TrustingClient(t, app.Emu.CACertPEM())
	if resp, err := tlsClient.PostForm(tokenURL, form); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	waitPastRefreshWindow(issued)
	r := graphcall(t, app, c)
	if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, "This site is misconfigured") || !strings.Contains(app.Log.String(), "API_SCOPES") {
		t.Fatalf("/graphcall with a revoked refresh token right after sign-in: %d %q", r.Status, r.Location)
	}
}

// A sign-up through the sign-up/sign-in flow: B2C's newUser claim reaches
// the page.
func TestSignUp(t *testing.T) {
	app := startApp(t, appOptions{})
	c := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
	cb := testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"signup"}, "signup-name": {"Carol New"}, "signup-email": {"carol@example.com"}})
	if r := testenv.Do(t, c, "GET", cb, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", r.Status, r.Body)
	}
	home := html.UnescapeString(testenv.Do(t, c, "GET", app.URL+"/", nil).Body)
	if !strings.Contains(home, "Welcome, Carol New") || !strings.Contains(home, `"newUser": true`) {
		t.Fatalf("home after sign-up:\n%s", home)
	}
}
