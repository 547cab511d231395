package auth_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// Twenty tabs of one session asking for a token at once, after it entered
// MSAL's 5-minute refresh window, make one refresh_token request, counted
// at the emulator. An access token of 303 s is fresh for 3 s: the check
// holds while the refreshed one is; on a machine too slow for that it is
// logged, not failed.
func TestConcurrentRefreshesOfOneSessionMakeOne(t *testing.T) {
	const lifetime = 303 * time.Second
	fresh := lifetime - 5*time.Minute
	s := startSite(t, siteOptions{emulator: func(c *emulator.Config) { c.AccessTokenLifetime = lifetime }})
	c := testenv.NewBrowser(t)
	testenv.SignIn(t, c, s.URL+"/login", alice.ObjectID)
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
