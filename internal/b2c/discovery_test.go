package b2c

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// discoveryServer serves the discovery document of user flow B2C_1_susi,
// as answer says for each fetch (counted from 1): true, a good document, else
// {}; it returns a Client of it on clk's time.
func discoveryServer(t *testing.T, clk *testenv.Clock, answer func(fetch int64) bool) *Client {
	t.Helper()
	var fetches atomic.Int64
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if !answer(fetches.Add(1)) {
			w.Write([]byte(`{}`))
			return
		}
		base := srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi"
		json.NewEncoder(w).Encode(map[string]string{
			"issuer": srv.URL + "/tenant-id/v2.0/", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint": base + "/oauth2/v2.0/token", "jwks_uri": base + "/discovery/v2.0/keys",
		})
	})
	c, err := New(Config{
		Tenant:   Tenant{Name: "contoso", Host: strings.TrimPrefix(srv.URL, "https://")},
		ClientID: "client-1", ClientSecret: "secret", Policies: []string{"B2C_1_susi"},
		HTTPClient: srv.Client(), DiscoveryTTL: time.Minute, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The discovery cache fetches once for any number of callers, validates a
// document before keeping it, serves the last good one when a refresh fails,
// and backs off between failed refreshes.
func TestDiscoveryCacheKeepsLastGoodAndBacksOff(t *testing.T) {
	var fetches atomic.Int64
	var broken atomic.Bool
	clk := testenv.NewClock(time.Now())
	c := discoveryServer(t, clk, func(n int64) bool { fetches.Store(n); return !broken.Load() })
	burst := func(step string) {
		t.Helper()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if _, err := c.Metadata(t.Context(), "B2C_1_susi"); err != nil {
					t.Errorf("%s: Metadata: %v", step, err)
				}
			})
		}
		wg.Wait()
	}
	steps := []struct {
		name    string
		advance time.Duration
		broken  bool
		fetches int64 // in all, after the step
	}{
		{"cold: one fetch for the burst", 0, false, 1},
		{"fresh: from the cache", 30 * time.Second, false, 1},
		{"expired, B2C answers {}: one fetch, the last good document", time.Minute, true, 2},
		{"backing off: no fetch", 500 * time.Millisecond, true, 2},
		{"first step over: one fetch", time.Second, true, 3},
		{"second step (2 s) not over: no fetch", 1500 * time.Millisecond, true, 3},
		{"second step over, B2C good again: one fetch", time.Second, false, 4},
		{"fresh again: from the cache", time.Second, false, 4},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		broken.Store(s.broken)
		burst(s.name)
		if got := fetches.Load(); got != s.fetches {
			t.Fatalf("%s: %d fetches in all, want %d", s.name, got, s.fetches)
		}
	}
}

// A document that fails validation ({} here) is not kept: the next fetch, once the
// back-off step has passed, is made, and its good document used.
func TestDiscoveryCacheRefusesInvalidDocument(t *testing.T) {
	clk := testenv.NewClock(time.Now())
	c := discoveryServer(t, clk, func(n int64) bool { return n > 1 })
	if _, err := c.Metadata(t.Context(), "B2C_1_susi"); !errors.Is(err, ErrMisconfigured) {
		t.Fatalf("Metadata of {}: %v, want ErrMisconfigured", err)
	}
	clk.Add(firstBackoff)
	if m, err := c.Metadata(t.Context(), "B2C_1_susi"); err != nil || m.JWKSURI == "" {
		t.Fatalf("Metadata after the back-off step: %v, %v; want the good document", m, err)
	}
}

// B2C limiting the app's requests (429) is "unreachable", not a setting to
// fix, and its Retry-After holds the next fetch back.
func TestDiscoveryCacheHonoursRetryAfter(t *testing.T) {
	var fetches atomic.Int64
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	clk := testenv.NewClock(time.Now())
	c, err := New(Config{
		Tenant:   Tenant{Name: "contoso", Host: strings.TrimPrefix(srv.URL, "https://")},
		ClientID: "client-1", ClientSecret: "secret", Policies: []string{"B2C_1_susi"},
		HTTPClient: srv.Client(), Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		fetches int64
	}{{0, 1}, {20 * time.Second, 1}, {11 * time.Second, 2}} {
		clk.Add(step.advance)
		if _, err := c.Metadata(t.Context(), "B2C_1_susi"); !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrMisconfigured) {
			t.Fatalf("Metadata answered 429: %v, want ErrUnreachable only", err)
		}
		if got := fetches.Load(); got != step.fetches {
			t.Fatalf("after %v more: %d fetches, want %d", step.advance, got, step.fetches)
		}
	}
}

// panicOnce panics in its first round trip.
type panicOnce struct {
	next     http.RoundTripper
	panicked atomic.Bool
}

func (p *panicOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if !p.panicked.Swap(true) {
		panic("transport bug")
	}
	return p.next.RoundTrip(req)
}

// A fetch that panics ends like a failed one: later callers neither wait
// for it forever nor find the document stuck.
func TestDiscoveryCachePanickedFetchEnds(t *testing.T) {
	clk := testenv.NewClock(time.Now())
	c := discoveryServer(t, clk, func(int64) bool { return true })
	c.discovery.next = &panicOnce{next: c.discovery.next}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the transport's panic did not reach the caller")
			}
		}()
		c.Metadata(t.Context(), "B2C_1_susi")
	}()
	clk.Add(firstBackoff)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Metadata(ctx, "B2C_1_susi"); err != nil {
		t.Fatalf("Metadata after a fetch panicked: %v", err)
	}
}
