package auth_test

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// Twenty tabs of one session asking for a token at once, after it entered
// MSAL's 5-minute refresh window, make one refresh_token request, counted
// at the emulator, though the process held the token. An access token of
// 303 s is fresh for 3 s: the check holds while the refreshed one is; on a
// machine too slow for that it is logged, not failed.
func TestConcurrentRefreshesOfOneSessionMakeOne(t *testing.T) {
	const lifetime = 303 * time.Second
	fresh := lifetime - 5*time.Minute
	s := startSite(t, siteOptions{emulator: func(c *emulator.Config) { c.AccessTokenLifetime = lifetime }})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	// Held by the process from here, until it enters the window.
	if r := testenv.Get(t, c, s.URL+"/token"); r.Status != http.StatusOK {
		t.Fatalf("GET /token: %d", r.Status)
	}
	time.Sleep(fresh + 500*time.Millisecond)
	refreshes := func() int {
		n := 0
		for _, r := range s.Emu.Requests() {
			if r.Endpoint == "token" && r.GrantType == "refresh_token" {
				n++
			}
		}
		return n
	}
	start := time.Now()
	statuses := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { statuses <- testenv.Get(t, c, s.URL+"/token").Status })
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Fatalf("GET /token: %d", status)
		}
	}
	if took := time.Since(start); took >= fresh {
		t.Logf("not checked, the machine was too slow: 20 token calls took %v", took)
		return
	}
	if n := refreshes(); n != 1 {
		t.Fatalf("20 concurrent token calls of one session made %d refresh_token requests, want 1", n)
	}
}

// The process keeps the access tokens it handed out, so it must never hand
// one to anyone else: two users asking at once each get their own, served
// again without a token request; a cookie kept from before a sign-out, or
// from a session a second sign-in replaced, gets none.
func TestAccessTokenStaysWithItsSession(t *testing.T) {
	s := startSite(t, siteOptions{})
	users := map[string]*http.Client{alice.ObjectID: testenv.NewBrowser(t), bob.ObjectID: testenv.NewBrowser(t)}
	first := map[string]string{}
	for oid, c := range users {
		testenv.SignIn(t, c, s.URL+"/login", oid)
		first[oid] = testenv.Get(t, c, s.URL+"/token").Body
		if got := callAPI(t, s, first[oid]).OID; got != oid {
			t.Fatalf("%s's token is for %s", oid, got)
		}
	}
	s.Emu.ResetRequests()
	type answer struct{ oid, token string }
	answers := make(chan answer, 40)
	var wg sync.WaitGroup
	for range 20 {
		for oid, c := range users {
			wg.Go(func() { answers <- answer{oid, testenv.Get(t, c, s.URL+"/token").Body} })
		}
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.token != first[a.oid] {
			t.Fatalf("%s was served a token other than the one it was given", a.oid)
		}
	}
	for _, r := range s.Emu.Requests() {
		if r.Endpoint == "token" {
			t.Fatalf("a token still fresh was requested again (%s)", r.GrantType)
		}
	}

	kept := users[alice.ObjectID].Jar.Cookies(testenv.ParseURL(t, s.URL))
	testenv.Do(t, users[alice.ObjectID], "POST", s.URL+"/logout", url.Values{})
	replay := testenv.NewBrowser(t)
	replay.Jar.SetCookies(testenv.ParseURL(t, s.URL), kept)
	if r := testenv.Get(t, replay, s.URL+"/token"); r.Status != http.StatusUnauthorized {
		t.Fatalf("/token with a cookie kept from before sign-out: %d, want 401", r.Status)
	}

	bobs := users[bob.ObjectID]
	kept = bobs.Jar.Cookies(testenv.ParseURL(t, s.URL))
	testenv.SignIn(t, bobs, s.URL+"/login", alice.ObjectID)
	if got := callAPI(t, s, testenv.Get(t, bobs, s.URL+"/token").Body).OID; got != alice.ObjectID {
		t.Fatalf("after signing in as Alice in Bob's browser, the token is for %s", got)
	}
	replay = testenv.NewBrowser(t)
	replay.Jar.SetCookies(testenv.ParseURL(t, s.URL), kept)
	if r := testenv.Get(t, replay, s.URL+"/token"); r.Status != http.StatusUnauthorized {
		t.Fatalf("/token with Bob's replaced session: %d, want 401", r.Status)
	}
}

// A request that outlives its session gets no token from the process: a
// stream still running when the user signed out on another instance (whose
// rows are gone, as that sign-out deletes them) must not keep calling APIs
// for the next hour.
func TestLongRequestAfterSignOutElsewhere(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	var s *site
	s = startSite(t, siteOptions{
		config: func(c *auth.Config) { c.Now = now },
		routes: func(mux *http.ServeMux, svc *auth.Service) {
			mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
				for _, e := range testenv.Entities(t, s.Table, nil) {
					if _, err := s.Table.DeleteEntity(r.Context(), e.PartitionKey, e.RowKey, nil); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				offset += time.Minute // the stream runs on
				mu.Unlock()
				if _, err := svc.AccessToken(r.Context(), []string{testenv.APIScope}); !errors.Is(err, auth.ErrSignInRequired) {
					t.Errorf("AccessToken a minute into a request whose session is gone: %v, want ErrSignInRequired", err)
				}
			})
		},
	})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	if r := testenv.Get(t, c, s.URL+"/token"); r.Status != http.StatusOK {
		t.Fatalf("GET /token: %d", r.Status)
	}
	testenv.Get(t, c, s.URL+"/stream")
}

// The process serves a token only while MSAL would: its refresh time is
// on MSAL's clock, the machine's, whatever clock sessions are kept on. A
// session clock 4 minutes behind must not stretch a token's life by 4.
func TestMemoKeepsMSALsClock(t *testing.T) {
	const lifetime = 303 * time.Second
	s := startSite(t, siteOptions{
		emulator: func(c *emulator.Config) { c.AccessTokenLifetime = lifetime },
		config:   func(c *auth.Config) { c.Now = func() time.Time { return time.Now().Add(-4 * time.Minute) } },
	})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
	first := testenv.Get(t, c, s.URL+"/token").Body
	time.Sleep(lifetime - 5*time.Minute + 500*time.Millisecond)
	if again := testenv.Get(t, c, s.URL+"/token").Body; again == first {
		t.Fatal("a token in MSAL's refresh window was served again from the process")
	}
}
