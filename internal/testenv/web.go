package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// NewBrowser is a browser stand-in with a cookie jar of its own that does
// not follow redirects, so tests see each hop. The jar, like browsers,
// sends Secure cookies to http://127.0.0.1.
func NewBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TrustingClient reaches TLS endpoints whose certificates caPEM issued:
// the B2C emulator's (emulator.Server.CACertPEM).
func TrustingClient(t testing.TB, caPEM []byte) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 10 * time.Second, Transport: trustingTransport(t, caPEM)}
}

// TrustingBrowser is NewBrowser that also trusts caPEM's certificates, for
// the emulator's pages on a custom domain, which are https.
func TrustingBrowser(t testing.TB, caPEM []byte) *http.Client {
	t.Helper()
	c := NewBrowser(t)
	c.Transport = trustingTransport(t, caPEM)
	return c
}

func trustingTransport(t testing.TB, caPEM []byte) *http.Transport {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("testenv: no CA certificate")
	}
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
}

// A Response is what a test reads of one HTTP response.
type Response struct {
	Status int
	// Header holds the headers as sent, Location among them.
	Header http.Header
	// Location is the Location header resolved against the request's URL:
	// where a browser goes next.
	Location string
	Body     string
	Cookies  []*http.Cookie // set by the response
}

// Cookie returns the cookie named name that the response set, or nil.
func (r Response) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Send sends req with c and reads the whole response.
func Send(t testing.TB, c *http.Client, req *http.Request) Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	if loc != "" {
		if l, err := resp.Request.URL.Parse(loc); err == nil {
			loc = l.String()
		}
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Location: loc, Body: string(b), Cookies: resp.Cookies()}
}

// Do sends a request with method to u, with form as its urlencoded body
// when form is not nil.
func Do(t testing.TB, c *http.Client, method, u string, form url.Values) Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return Send(t, c, req)
}

// Get is Do for a GET.
func Get(t testing.TB, c *http.Client, u string) Response {
	t.Helper()
	return Do(t, c, "GET", u, nil)
}

var (
	txField    = regexp.MustCompile(`name="tx" value="([^"]+)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// StartSignIn follows start (an app's /login, or a page that starts a user
// flow) to the B2C emulator's page and returns the page's form action and
// transaction ID.
func StartSignIn(t testing.TB, c *http.Client, start string) (action, tx string) {
	t.Helper()
	r := Get(t, c, start)
	if r.Status != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302\n%s", start, r.Status, r.Body)
	}
	page := Get(t, c, r.Location)
	if page.Status != http.StatusOK {
		t.Fatalf("emulator page: status %d\n%s", page.Status, page.Body)
	}
	a, x := formAction.FindStringSubmatch(page.Body), txField.FindStringSubmatch(page.Body)
	if a == nil || x == nil {
		t.Fatalf("no form on the emulator page:\n%s", page.Body)
	}
	authorize, err := url.Parse(r.Location)
	if err != nil {
		t.Fatal(err)
	}
	act, err := authorize.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	return act.String(), x[1]
}

// EmulatorAnswer posts a choice on the emulator's page and returns its
// redirect to the app's callback.
func EmulatorAnswer(t testing.TB, c *http.Client, action, tx string, form url.Values) string {
	t.Helper()
	form.Set("tx", tx)
	r := Do(t, c, "POST", action, form)
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("emulator answer: status %d, want a redirect\n%s", r.Status, r.Body)
	}
	return r.Location
}

// ChooseUser is the emulator's one-click sign-in as the user with objectID.
func ChooseUser(objectID string) url.Values {
	return url.Values{"action": {"user"}, "user": {objectID}}
}

// SignIn runs the whole sign-in from start as the user with objectID and
// returns the app's callback response, which must be a 303.
func SignIn(t testing.TB, c *http.Client, start, objectID string) Response {
	t.Helper()
	action, tx := StartSignIn(t, c, start)
	r := Get(t, c, EmulatorAnswer(t, c, action, tx, ChooseUser(objectID)))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("callback: status %d, want 303\n%s", r.Status, r.Body)
	}
	return r
}

// Rows counts the table's rows by row key: session, tokencache, pending.
func Rows(t testing.TB, table *aztables.Client) map[string]int {
	t.Helper()
	counts := map[string]int{}
	sel := "RowKey"
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			counts[e.RowKey]++
		}
	}
	return counts
}

// A Log is a log destination that handlers on several goroutines may write
// to.
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// Lines parses the log's JSON lines.
func (l *Log) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(l.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		lines = append(lines, m)
	}
	return lines
}
