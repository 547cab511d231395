package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
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

// ParseURL parses raw, which the test expects to be a URL.
func ParseURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// CAFile writes caPEM, the emulator's CA certificate, to a file of the
// test's own and returns its path, for B2C_CA_FILE.
func CAFile(t testing.TB, caPEM []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
	r, err := TrySend(c, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Do sends a request with method to u, with form as its urlencoded body
// when form is not nil.
func Do(t testing.TB, c *http.Client, method, u string, form url.Values) Response {
	t.Helper()
	r, err := TryDo(c, method, u, form)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TrySend is Send for goroutines other than the test's: it returns the
// error instead of failing the test.
func TrySend(c *http.Client, req *http.Request) (Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if l, lerr := resp.Request.URL.Parse(loc); loc != "" && lerr == nil {
		loc = l.String()
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Location: loc, Body: string(b), Cookies: resp.Cookies()}, err
}

// TryDo is Do for goroutines other than the test's: it returns the error
// instead of failing the test.
func TryDo(c *http.Client, method, u string, form url.Values) (Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return Response{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return TrySend(c, req)
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
	action, tx, err := TryStartSignIn(c, start)
	if err != nil {
		t.Fatal(err)
	}
	return action, tx
}

// EmulatorForm reads the form of the emulator's page at page: its action
// and transaction ID.
func EmulatorForm(t testing.TB, c *http.Client, page string) (action, tx string) {
	t.Helper()
	action, tx, err := TryEmulatorForm(c, page)
	if err != nil {
		t.Fatal(err)
	}
	return action, tx
}

// EmulatorAnswer posts a choice on the emulator's page and returns its
// redirect to the app's callback.
func EmulatorAnswer(t testing.TB, c *http.Client, action, tx string, form url.Values) string {
	t.Helper()
	callback, err := TryEmulatorAnswer(c, action, tx, form)
	if err != nil {
		t.Fatal(err)
	}
	return callback
}

// SignIn runs the whole sign-in from start as the user with objectID and
// returns the app's callback response, which must be a 303.
func SignIn(t testing.TB, c *http.Client, start, objectID string) Response {
	t.Helper()
	r, err := TrySignIn(c, start, objectID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// EmulatorProfileEdit starts the profile-editing flow at start, picks the
// account of the user with objectID on the emulator's page, posts profile
// there and returns the emulator's redirect to the app's callback.
func EmulatorProfileEdit(t testing.TB, c *http.Client, start, objectID string, profile url.Values) (callback string) {
	t.Helper()
	action, tx := StartSignIn(t, c, start)
	Do(t, c, "POST", action, url.Values{"tx": {tx}, "action": {"user"}, "user": {objectID}})
	return EmulatorAnswer(t, c, action, tx, profile)
}

// ChooseUser is the emulator's one-click sign-in as the user with objectID.
func ChooseUser(objectID string) url.Values {
	return url.Values{"action": {"user"}, "user": {objectID}}
}

// TryStartSignIn is StartSignIn for goroutines other than the test's.
func TryStartSignIn(c *http.Client, start string) (action, tx string, err error) {
	r, err := TryDo(c, "GET", start, nil)
	if err != nil || r.Status != http.StatusFound {
		return "", "", fmt.Errorf("GET %s: status %d, want 302: %v\n%s", start, r.Status, err, r.Body)
	}
	return TryEmulatorForm(c, r.Location)
}

// TryEmulatorForm is EmulatorForm for goroutines other than the test's.
func TryEmulatorForm(c *http.Client, page string) (action, tx string, err error) {
	r, err := TryDo(c, "GET", page, nil)
	if err != nil || r.Status != http.StatusOK {
		return "", "", fmt.Errorf("emulator page: status %d: %v\n%s", r.Status, err, r.Body)
	}
	a, x := formAction.FindStringSubmatch(r.Body), txField.FindStringSubmatch(r.Body)
	if a == nil || x == nil {
		return "", "", fmt.Errorf("no form on the emulator page:\n%s", r.Body)
	}
	pageURL, err := url.Parse(page)
	if err != nil {
		return "", "", err
	}
	act, err := pageURL.Parse(html.UnescapeString(a[1]))
	if err != nil {
		return "", "", err
	}
	return act.String(), x[1], nil
}

// TryEmulatorAnswer is EmulatorAnswer for goroutines other than the test's.
func TryEmulatorAnswer(c *http.Client, action, tx string, form url.Values) (callback string, err error) {
	form.Set("tx", tx)
	r, err := TryDo(c, "POST", action, form)
	if err != nil || r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		return "", fmt.Errorf("emulator answer: status %d, want a redirect: %v\n%s", r.Status, err, r.Body)
	}
	return r.Location, nil
}

// TrySignIn is SignIn for goroutines other than the test's.
func TrySignIn(c *http.Client, start, objectID string) (Response, error) {
	action, tx, err := TryStartSignIn(c, start)
	if err != nil {
		return Response{}, err
	}
	callback, err := TryEmulatorAnswer(c, action, tx, ChooseUser(objectID))
	if err != nil {
		return Response{}, err
	}
	r, err := TryDo(c, "GET", callback, nil)
	if err != nil || r.Status != http.StatusSeeOther {
		return Response{}, fmt.Errorf("callback: status %d, want 303: %v\n%s", r.Status, err, r.Body)
	}
	return r, nil
}

// Rows counts the table's rows by row key: session, tokencache, pending.
func Rows(t testing.TB, table *aztables.Client) map[string]int {
	t.Helper()
	sel := "RowKey"
	counts := map[string]int{}
	for _, e := range Entities(t, table, &aztables.ListEntitiesOptions{Select: &sel}) {
		counts[e.RowKey]++
	}
	return counts
}

// Entities lists the table's entities that opts select, every page of them.
func Entities(t testing.TB, table *aztables.Client, opts *aztables.ListEntitiesOptions) []aztables.Entity {
	t.Helper()
	var all []aztables.Entity
	pager := table.NewListEntitiesPager(opts)
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
			all = append(all, e)
		}
	}
	return all
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
