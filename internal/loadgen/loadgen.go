// Package loadgen drives a running app the way signed-in users do: it signs
// in a number of users through the B2C emulator's page, then has them load
// pages for a while, and reports throughput and latency. It only talks to
// the addresses it is given; use it against a local run on loopback.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Options say what load to make.
type Options struct {
	BaseURL  string // the app, e.g. http://localhost:7071
	UserID   string // the emulator user every virtual user signs in as
	Users    int    // concurrent signed-in users, each with its own session
	Duration time.Duration
	Paths    []string // pages each user loads in turn
	// Warmup, when set, is a time the signed-in users load pages before
	// Duration starts: its requests are not counted, its errors are. Warm,
	// when set, is called once the warm-up is over, as the measured time
	// begins.
	Warmup time.Duration
	Warm   func()
}

// Report is what a run measured.
type Report struct {
	Requests           int
	Errors             int
	Elapsed            time.Duration
	P50, P95, P99, Max time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("%d requests in %v (%.0f/s), %d errors; latency p50 %v, p95 %v, p99 %v, max %v",
		r.Requests, r.Elapsed.Round(time.Millisecond), float64(r.Requests)/r.Elapsed.Seconds(), r.Errors,
		r.P50.Round(time.Microsecond), r.P95.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// Run signs the users in, then loads pages until the duration is over.
func Run(ctx context.Context, o Options) (Report, error) {
	clients := make([]*http.Client, o.Users)
	for i := range clients {
		c, err := signIn(ctx, o.BaseURL, o.UserID)
		if err != nil {
			return Report{}, fmt.Errorf("loadgen: signing in user %d: %w", i, err)
		}
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(ctx, o.Warmup+o.Duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	start := time.Now().Add(o.Warmup)
	for _, c := range clients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := get(ctx, c, o.BaseURL+o.Paths[i%len(o.Paths)])
				d := time.Since(t0)
				if ctx.Err() != nil {
					return // cut off by the end of the run
				}
				mu.Lock()
				if !t0.Before(start) { // not warming up
					latencies = append(latencies, d)
				}
				if err != nil {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	if o.Warm != nil {
		select {
		case <-time.After(time.Until(start)):
			o.Warm()
		case <-ctx.Done():
		}
	}
	wg.Wait()
	r := Report{Requests: len(latencies), Errors: errs, Elapsed: time.Since(start)}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
		r.P50, r.P95, r.P99, r.Max = at(.50), at(.95), at(.99), latencies[len(latencies)-1]
	}
	return r, nil
}

func get(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return nil
}

var (
	txField    = regexp.MustCompile(`name="tx" value="([^"]+)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// signIn returns a client holding a fresh session: /login, the emulator's
// sign-in page, a click on the user, the callback.
func signIn(ctx context.Context, base, userID string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	action, tx := formAction.FindSubmatch(page), txField.FindSubmatch(page)
	if action == nil || tx == nil {
		return nil, errors.New("loadgen: no sign-in form at " + resp.Request.URL.Redacted())
	}
	post, err := resp.Request.URL.Parse(html.UnescapeString(string(action[1])))
	if err != nil {
		return nil, err
	}
	form := url.Values{"tx": {string(tx[1])}, "action": {"user"}, "user": {userID}}
	resp, err = c.PostForm(post.String(), form)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loadgen: sign-in ended with status %d", resp.StatusCode)
	}
	return c, nil
}
