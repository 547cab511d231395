package auth_test

// The sign-in path seen from an attacker's side: what anonymous requests
// cost the app, and what a forged sign-in cookie can do.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// endpointCount counts the emulator's requests to endpoint.
func (s *site) endpointCount(endpoint string) int {
	n := 0
	for _, r := range s.Emu.Requests() {
		if r.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// Callbacks whose state matches no sign-in cookie of the browser are
// refused from the request alone: however many come, no Table call and no
// token request. The stand-ins count: the table is reached through a proxy
// that counts connections, and the emulator logs every token request.
func TestForgedCallbacksCostNothing(t *testing.T) {
	proxy, table := testenv.SharedAzurite(t).NewProxiedTable(t, policy.RetryOptions{MaxRetries: -1})
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.Table = table }})
	forgeries := []func(state string) *http.Cookie{
		func(string) *http.Cookie { return nil }, // no cookie at all
		func(state string) *http.Cookie { // garbage under the state's cookie name
			return &http.Cookie{Name: pendingCookieName(state), Value: "AAAA"}
		},
		func(state string) *http.Cookie { // well formed, sealed without the server's key
			v, err := attacker.SealPending(state, []byte(`{"policy":"`+testenv.SignUpSignIn+`","returnTo":"/"}`))
			if err != nil {
				t.Fatal(err)
			}
			return &http.Cookie{Name: pendingCookieName(state), Value: v}
		},
	}
	const callbacks = 1000
	var wg sync.WaitGroup
	errs := make(chan string, callbacks)
	for i := range callbacks {
		wg.Go(func() {
			state := session.NewState()
			req, _ := http.NewRequest("GET", s.URL+"/getAToken?"+url.Values{"state": {state}, "code": {"forged"}}.Encode(), nil)
			if c := forgeries[i%len(forgeries)](state); c != nil {
				req.AddCookie(c)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				errs <- resp.Status
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a forged callback: %s, want 400", e)
	}
	if n := proxy.Accepted(); n != 0 {
		t.Errorf("%d forged callbacks reached Table Storage: %d connections, want 0", callbacks, n)
	}
	if n := s.endpointCount("token"); n != 0 {
		t.Errorf("%d forged callbacks made %d token requests, want 0", callbacks, n)
	}
}

// attacker seals sign-in cookies as the app does, with all but the
// server's key.
var attacker = session.NewStore(nil, session.Options{PendingKey: []byte("not the server's key")})

// callbackOf signs alice in from start up to B2C's redirect, and returns the
// callback URL, not yet followed, and its state.
func callbackOf(t *testing.T, s *site, c *http.Client, start string) (*url.URL, string) {
	t.Helper()
	action, tx := testenv.StartSignIn(t, c, s.URL+start)
	cb := testenv.ParseURL(t, testenv.EmulatorAnswer(t, c, action, tx, testenv.ChooseUser(alice.ObjectID)))
	return cb, cb.Query().Get("state")
}

// pendingCookieName is the name of the sign-in cookie of state: the prefix
// and part of the state's SHA-256, which anyone can compute.
func pendingCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return auth.PendingCookiePrefix + base64.RawURLEncoding.EncodeToString(sum[:12])
}

// A cookie minted without the server's key is refused at the callback, as
// an expired sign-in, before the code is redeemed.
func TestSignInCookieWithoutServerKeyRefused(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	cb, state := callbackOf(t, s, c, "/login")
	forged, err := attacker.SealPending(state, []byte(`{"policy":"`+testenv.SignUpSignIn+`","returnTo":"//evil.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(testenv.ParseURL(t, s.URL), []*http.Cookie{{Name: pendingCookieName(state), Value: forged, Path: "/"}})
	r := testenv.Get(t, c, cb.String())
	if f := s.takeFailure(t); f.Kind != auth.SignInExpired || r.Status != http.StatusBadRequest {
		t.Fatalf("callback with a forged cookie: %d, Kind %v, want 400 %v", r.Status, f.Kind, auth.SignInExpired)
	}
	if n := s.endpointCount("token"); n != 0 {
		t.Fatalf("the forged cookie's callback made %d token requests", n)
	}
}

// The return path is checked again at the callback: even a cookie sealed
// with the server's key (the client secret) that says //evil.example lands
// on /.
func TestReturnToCheckedAtCallback(t *testing.T) {
	s := startSite(t, siteOptions{})
	c := testenv.NewBrowser(t)
	cb, state := callbackOf(t, s, c, "/login?next=/private")
	name := pendingCookieName(state)
	var value string
	for _, ck := range c.Jar.Cookies(testenv.ParseURL(t, s.URL)) {
		if ck.Name == name {
			value = ck.Value
		}
	}
	insider := session.NewStore(nil, session.Options{PendingKey: []byte(s.Secret)})
	data, err := insider.OpenPending(state, value)
	if err != nil {
		t.Fatalf("the sign-in cookie does not open with the client secret: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	p["returnTo"] = "//evil.example"
	data, _ = json.Marshal(p)
	if value, err = insider.SealPending(state, data); err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(testenv.ParseURL(t, s.URL), []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	r := testenv.Get(t, c, cb.String())
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("callback with returnTo //evil.example: %d %q, want 303 to /", r.Status, r.Header.Get("Location"))
	}
	s.noFailure(t)
}

// However long and however escaped the next= page, the sign-in cookie fits
// in the 4,096 bytes a browser keeps (RFC 6265 §6.1), name and attributes
// included; an ordinary return path is kept.
func TestSignInCookieAlwaysFits(t *testing.T) {
	s := startSite(t, siteOptions{})
	worst := map[string]string{
		"HTML-escaped":     "/?" + strings.Repeat("<", 1022),
		"quotes":           "/?" + strings.Repeat(`"`, 1022),
		"line separators":  "/?" + strings.Repeat("\u2028", 340),
		"invalid UTF-8":    "/?" + strings.Repeat("\xff", 1022),
		"ampersands":       "/" + strings.Repeat("&", 1023),
		"past 1,024 bytes": "/" + strings.Repeat("a", 4000),
	}
	for name, next := range worst {
		t.Run(name, func(t *testing.T) {
			r := testenv.Get(t, testenv.NewBrowser(t), s.URL+"/login?next="+url.QueryEscape(next))
			ck := pendingCookie(r)
			if r.Status != http.StatusFound || ck == nil {
				t.Fatalf("GET /login: %d, no sign-in cookie", r.Status)
			}
			if len(ck.Raw) > 4096 {
				t.Fatalf("Set-Cookie of %d bytes: a browser drops it", len(ck.Raw))
			}
		})
	}
	c := testenv.NewBrowser(t)
	kept := "/private?q=" + strings.Repeat("a&b", 200)
	if r := testenv.SignIn(t, c, s.URL+"/login?next="+url.QueryEscape(kept), alice.ObjectID); r.Header.Get("Location") != kept {
		t.Fatalf("back to %q, want %q", r.Header.Get("Location"), kept)
	}
}

// A bad discovery document never sticks: B2C answering {} once fails that
// sign-in (the site is misconfigured, as far as anyone can tell), and once
// the back-off step has passed, sign-in works again, with no restart and no
// readiness probe.
func TestBadDiscoveryDocumentDoesNotStick(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	s := startSite(t, siteOptions{config: func(c *auth.Config) { c.Now = now }})
	s.Emu.ServeNextDiscovery([]byte(`{}`))
	c := testenv.NewBrowser(t)
	if r := testenv.Get(t, c, s.URL+"/login"); r.Status != http.StatusInternalServerError {
		t.Fatalf("GET /login with {} for a discovery document: %d, want 500", r.Status)
	}
	if f := s.takeFailure(t); f.Kind != auth.Misconfigured {
		t.Fatalf("Kind %v, want %v", f.Kind, auth.Misconfigured)
	}
	mu.Lock()
	offset = 2 * time.Second
	mu.Unlock()
	testenv.SignIn(t, c, s.URL+"/login?next=/private", alice.ObjectID)
	if got := s.shown(t, c); got.ObjectID != alice.ObjectID {
		t.Fatalf("signed in as %+v, want Alice", got)
	}
}
