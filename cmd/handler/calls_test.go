package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// Table Storage round trips per route, counted on the wire, against a budget:
// a signed-out visitor costs nothing, starting a sign-in nothing (its state
// is in the browser), a signed-in page one point read, a token from the
// cache one more, and none once this process holds that token. Logout reads the session (its user flow and ID token make
// the end-session URL) and deletes both rows in one transaction.
func TestTableCallsPerRoute(t *testing.T) {
	counter := &callCounter{}
	app := startApp(t, appOptions{tableCalls: counter})
	c := testenv.NewBrowser(t)
	time.Sleep(200 * time.Millisecond) // let start-up create its table
	counter.take()

	total := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	steps := []struct {
		name   string
		run    func()
		budget int
	}{
		{"GET / signed out", func() { testenv.Do(t, c, "GET", app.URL+"/", nil) }, 0},
		{"GET /anonymous signed out", func() { testenv.Do(t, c, "GET", app.URL+"/anonymous", nil) }, 0},
		{"GET /login, three times", func() {
			for range 3 {
				testenv.Do(t, testenv.NewBrowser(t), "GET", app.URL+"/login", nil)
			}
		}, 0},
		{"sign-in (/login and /getAToken)", func() { testenv.SignIn(t, c, app.URL+"/login", alice.ObjectID) }, 2},
		{"GET / signed in", func() { testenv.Do(t, c, "GET", app.URL+"/", nil) }, 1},
		{"GET /graphcall, token from cache", func() { testenv.Do(t, c, "GET", app.URL+"/graphcall", nil) }, 2},
		{"GET /graphcall again, token in memory", func() { testenv.Do(t, c, "GET", app.URL+"/graphcall", nil) }, 1},
		{"POST /logout", func() { testenv.Do(t, c, "POST", app.URL+"/logout", url.Values{}) }, 2},
	}
	for _, s := range steps {
		s.run()
		calls := counter.take()
		t.Logf("%-34s %d Table Storage calls %v", s.name, total(calls), calls)
		if total(calls) > s.budget {
			t.Errorf("%s: %d Table Storage calls %v, budget %d", s.name, total(calls), calls, s.budget)
		}
	}
}
