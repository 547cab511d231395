package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// text reads an element's text, waiting for it to be visible.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(id))); err != nil {
		t.Fatalf("waiting for #%s: %v", id, err)
	}
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return s
}

func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("clicking #%s: %v", id, err)
	}
}

func navigate(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigating to %s: %v", u, err)
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// screenshot keeps a picture of the page for a person to look at when the
// test fails.
func screenshot(t *testing.T, ctx context.Context, name string) {
	if !t.Failed() && os.Getenv("E2E_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err == nil {
		dir := os.Getenv("E2E_SCREENSHOTS")
		if dir == "" {
			dir = t.TempDir()
		}
		p := filepath.Join(dir, name+".png")
		os.WriteFile(p, png, 0o644)
		t.Logf("screenshot: %s", p)
	}
}

// The walk-through, in a real browser and without any certificate
// flag: home signed out → Sign in → emulator page → back signed in, claims
// shown → reload → a page behind RequireSignIn → Logout → B2C end-session →
// home signed out, and the session rows gone.
// In both kinds of tenant, with the API call on the way.
func TestBrowserSignInAndOut(t *testing.T) {
	for _, mode := range tenantModes {
		t.Run(mode.name, func(t *testing.T) { browserSignInAndOut(t, mode) })
	}
}

func browserSignInAndOut(t *testing.T, mode tenantMode) {
	start := time.Now()
	app := startApp(t, appOptions{externalID: mode.externalID})
	ctx := testenv.Browser(t)
	defer screenshot(t, ctx, "sign-in-and-out")

	navigate(t, ctx, app.URL+"/")
	if got := text(t, ctx, "sign-in-button"); got != "Sign in" {
		t.Fatalf("signed-out home shows %q", got)
	}
	click(t, ctx, "sign-in-button")
	click(t, ctx, "user-"+alice.ObjectID) // the emulator's sign-in page
	if got := text(t, ctx, "welcome"); got != "Welcome, Alice Example" {
		t.Fatalf("after sign-in: %q", got)
	}
	// B2C's emails claim; External ID's tenant ID and email.
	wantClaim := map[bool]string{false: `"emails": [`, true: `"tid": "` + app.Emu.TenantID() + `"`}[mode.externalID]
	if claims := text(t, ctx, "claims"); !strings.Contains(claims, wantClaim) || !strings.Contains(claims, alice.Email) {
		t.Fatalf("claims shown, want %s and %s:\n%s", wantClaim, alice.Email, claims)
	}
	if loc := location(t, ctx); loc != app.URL+"/" {
		t.Fatalf("after the callback the address bar shows %q, want the clean %q", loc, app.URL+"/")
	}

	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "welcome"); got != "Welcome, Alice Example" {
		t.Fatalf("after reload: %q", got)
	}
	navigate(t, ctx, app.URL+"/private")
	if got := text(t, ctx, "private-name"); got != "Alice Example" {
		t.Fatalf("/private: %q", got)
	}
	navigate(t, ctx, app.URL+"/")
	click(t, ctx, "call-api")
	if got := text(t, ctx, "api-result"); !strings.Contains(got, alice.ObjectID) {
		t.Fatalf("the API call shows:\n%s", got)
	}

	signOut(t, ctx)
	if got := text(t, ctx, "sign-in-button"); got != "Sign in" {
		t.Fatalf("after logout: %q", got)
	}
	if loc := location(t, ctx); loc != app.URL+"/" {
		t.Fatalf("after logout at %q, want %q", loc, app.URL+"/")
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 0 || n["tokencache"] != 0 {
		t.Fatalf("rows after logout: %v", n)
	}
	sawLogout := false
	for _, r := range app.Emu.Requests() {
		sawLogout = sawLogout || r.Endpoint == "logout"
	}
	if !sawLogout {
		t.Fatal("the browser never reached B2C's end-session endpoint")
	}
	t.Logf("browser walk-through took %v", time.Since(start))
}

// Login CSRF: an attacker's callback URL, opened in the victim's browser,
// must not sign the victim in as the attacker.
func TestBrowserRejectsForeignCallback(t *testing.T) {
	for _, mode := range tenantModes {
		t.Run(mode.name, func(t *testing.T) { browserRejectsForeignCallback(t, mode) })
	}
}

func browserRejectsForeignCallback(t *testing.T, mode tenantMode) {
	app := startApp(t, appOptions{externalID: mode.externalID})
	attacker := testenv.NewBrowser(t)
	action, tx := testenv.StartSignIn(t, attacker, app.URL+"/login")
	cb := testenv.EmulatorAnswer(t, attacker, action, tx, url.Values{"action": {"user"}, "user": {bob.ObjectID}})

	victim := testenv.Browser(t)
	defer screenshot(t, victim, "foreign-callback")
	navigate(t, victim, cb)
	if got := text(t, victim, "error-title"); got != "Sign-in cookie missing" {
		t.Fatalf("foreign callback shows %q", got)
	}
	// Even with a sign-in of their own under way, the victim is refused.
	navigate(t, victim, app.URL+"/login")
	text(t, victim, "user-"+alice.ObjectID)
	navigate(t, victim, cb)
	if got := text(t, victim, "error-title"); got != "Sign-in expired" && got != "Sign-in started elsewhere" {
		t.Fatalf("foreign callback with a binding cookie shows %q", got)
	}
	navigate(t, victim, app.URL+"/")
	if got := text(t, victim, "sign-in-button"); got != "Sign in" {
		t.Fatal("the victim is signed in")
	}
}

// signOut uses the Logout link and the sign-out button behind it.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	click(t, ctx, "logout")
	click(t, ctx, "sign-out")
}

func setValue(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SetValue(chromedp.ID(id), value)); err != nil {
		t.Fatalf("setting #%s: %v", id, err)
	}
}

// The rest of the article's flows in a real browser: the API call from the
// cache, a refresh past MSAL's window, edit profile, forgot password into
// the reset flow, cancel, and logout.
func TestBrowserUserFlows(t *testing.T) {
	app := startApp(t, appOptions{accessTokenLifetime: shortLifetime, reuseDetection: true})
	ctx := testenv.Browser(t)
	defer screenshot(t, ctx, "user-flows")

	navigate(t, ctx, app.URL+"/")
	click(t, ctx, "sign-in-button")
	issued := time.Now()
	click(t, ctx, "user-"+alice.ObjectID)
	text(t, ctx, "welcome")

	app.Emu.ResetRequests()
	click(t, ctx, "call-api")
	if got := text(t, ctx, "api-result"); !strings.Contains(got, `"name": "Alice Example"`) {
		t.Fatalf("API result:\n%s", got)
	}
	if n := tokenCalls(app); len(n) != 0 {
		t.Fatalf("the first API call used the token endpoint: %v", n)
	}
	waitPastRefreshWindow(issued)
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	text(t, ctx, "api-result")
	if n := tokenCalls(app); n["refresh_token"] != 1 {
		t.Fatalf("past the refresh window: token calls %v, want one refresh", n)
	}

	click(t, ctx, "edit-profile")
	click(t, ctx, "user-"+alice.ObjectID) // no SSO session in the emulator
	setValue(t, ctx, "name", "Alice Edited")
	click(t, ctx, "continue")
	if got := text(t, ctx, "welcome"); got != "Welcome, Alice Edited" {
		t.Fatalf("after edit profile: %q", got)
	}
	click(t, ctx, "call-api")
	text(t, ctx, "api-result")

	signOut(t, ctx)
	click(t, ctx, "sign-in-button")
	click(t, ctx, "forgot-password")
	click(t, ctx, "reset-"+alice.ObjectID)
	// Documented: the reset flow signs the user in; its account serves the API.
	if got := text(t, ctx, "welcome"); got != "Welcome, Alice Edited" {
		t.Fatalf("after password reset: %q", got)
	}
	if claims := text(t, ctx, "claims"); !strings.Contains(claims, `"tfp": "B2C_1_passwordreset1"`) {
		t.Fatalf("claims after reset:\n%s", claims)
	}
	click(t, ctx, "call-api")
	text(t, ctx, "api-result")

	signOut(t, ctx)
	click(t, ctx, "sign-in-button")
	click(t, ctx, "cancel")
	if got := text(t, ctx, "sign-in-button"); got != "Sign in" {
		t.Fatalf("after cancel: %q", got)
	}
	if n := testenv.Rows(t, app.Table); n["session"] != 0 || n["tokencache"] != 0 {
		t.Fatalf("rows at the end: %v", n)
	}
}
