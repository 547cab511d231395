package main

// The Functions host's side of the custom handler contract (as the host
// implements it in its DefaultHttpWorkerService), played against the real
// program, so the tests need no Functions host: the readiness
// probe, raw-forwarded HTTP requests, and timer invocations.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// hostVersion is what the host sends in X-Azure-Functions-HostVersion and
// its User-Agent.
const hostVersion = "4.1045.200.0"

// newInvocationID returns a GUID, as the host's invocation IDs are.
func newInvocationID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// addHostHeaders adds what the host adds to every request it sends the
// handler.
func addHostHeaders(h http.Header, invocationID string) {
	h.Set("X-Azure-Functions-HostVersion", hostVersion)
	h.Set("X-Azure-Functions-InvocationId", invocationID)
	h.Set("User-Agent", strings.TrimSpace(h.Get("User-Agent")+" Azure-Functions-Host/"+hostVersion))
}

// loopback is where the host reaches the handler: 127.0.0.1 and the port
// it passed in FUNCTIONS_CUSTOMHANDLER_PORT.
func loopback(t *testing.T, app *testApp) string {
	t.Helper()
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + u.Port()
}

// The host polls GET / on the handler's port and takes any testenv.Response as
// ready; it must come before the table or B2C answer, or a cold start
// waits on them (and fails when they are down).
func TestReadinessBeforeDependencies(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens here
	port := testenv.FreePort(t)
	env := map[string]string{
		"B2C_TENANT_NAME":                 "contoso",
		"B2C_TENANT_HOST":                 dead,
		"B2C_SIGNUP_SIGNIN_POLICY":        testenv.SignUpSignIn,
		"B2C_CLIENT_ID":                   testenv.ClientID,
		"B2C_CLIENT_SECRET":               testSecret,
		"PUBLIC_BASE_URL":                 "http://localhost:7071",
		"SESSION_TABLE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + testenv.AzuriteAccountKey + ";TableEndpoint=http://" + dead + "/devstoreaccount1;",
		"FUNCTIONS_CUSTOMHANDLER_PORT":    fmt.Sprint(port),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &testenv.Log{}) }()
	home := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitReady(t, home, done)
	ready := time.Since(start)
	resp, err := http.Get(home)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / with storage and B2C down: %d, want 200", resp.StatusCode)
	}
	if ready > 2*time.Second {
		t.Errorf("readiness took %v", ready)
	}
	t.Logf("GET / answered %v after start, with storage and B2C down", ready)
}

// appTransport sends a client's requests for the app either directly or
// the way the host forwards them to a custom handler
// (ProcessHttpInAndOutInvocationRequest): to the handler's loopback port
// with the original method, path, Host header, other headers and body, the
// query rebuilt from its parsed values, and the host's own headers added.
// It records every testenv.Response of the app; the emulator's pages pass through.
type appTransport struct {
	public  string // host:port of the app's public origin
	handler string // the handler's loopback address; "" sends directly
	hops    []hop
	sent    map[string]string // invocation ID → path, of forwarded requests
}

func (tr *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != tr.public {
		return http.DefaultTransport.RoundTrip(req)
	}
	sent := req
	if tr.handler != "" {
		sent = tr.forward(req)
	}
	resp, err := http.DefaultTransport.RoundTrip(sent)
	if err != nil {
		return nil, err
	}
	resp.Request = req // the client resolves redirects against the URL it asked for
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tr.hops = append(tr.hops, newHop(req, resp, body))
	return resp, nil
}

func (tr *appTransport) forward(req *http.Request) *http.Request {
	id := newInvocationID()
	f := req.Clone(req.Context())
	f.Host = req.URL.Host
	f.URL.Host = tr.handler
	f.URL.RawQuery = reencodeQuery(req.URL.RawQuery)
	h := f.Header
	// App Service's front end.
	h.Set("X-Forwarded-For", "203.0.113.7:50312")
	h.Set("X-Forwarded-Proto", "https")
	h.Set("X-Original-URL", req.URL.RequestURI())
	h.Set("Disguised-Host", req.URL.Host)
	h.Set("X-ARR-LOG-ID", id)
	h.Set("Max-Forwards", "10")
	// Any client can send this one; the handler must not believe it.
	h.Set("X-Forwarded-Host", "evil.example")
	addHostHeaders(h, id)
	tr.sent[id] = req.URL.Path
	return f
}

// reencodeQuery rebuilds a query as the host does (QueryHelpers.AddQueryString
// over the parsed query): each name and value unescaped and escaped again,
// spaces as %20.
func reencodeQuery(raw string) string {
	var pairs []string
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		esc := func(s string) string {
			u, _ := url.QueryUnescape(s)
			return strings.ReplaceAll(url.QueryEscape(u), "+", "%20")
		}
		pairs = append(pairs, esc(name)+"="+esc(value))
	}
	return strings.Join(pairs, "&")
}

// A hop is one testenv.Response of the app with what differs between two runs by
// design masked: random state, nonce and PKCE values, cookie values and
// dates.
type hop struct {
	Request  string
	Status   int
	Location string
	Cookies  []string
	Header   http.Header
	Body     string
}

var volatileParams = []string{"state", "nonce", "code_challenge", "id_token_hint"}

func newHop(req *http.Request, resp *http.Response, body []byte) hop {
	h := hop{Request: req.Method + " " + req.URL.Path, Status: resp.StatusCode, Header: resp.Header.Clone()}
	for _, name := range []string{"Date", "Content-Length", "Location", "Set-Cookie"} {
		h.Header.Del(name)
	}
	if loc, err := url.Parse(resp.Header.Get("Location")); err == nil {
		q := loc.Query()
		for _, p := range volatileParams {
			if q.Has(p) {
				q.Set(p, "x")
			}
		}
		loc.RawQuery = q.Encode()
		h.Location = loc.String()
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			c.Value = "x"
		}
		if strings.HasPrefix(c.Name, auth.PendingCookiePrefix) {
			c.Name = auth.PendingCookiePrefix + "x" // named after the state
		}
		c.Expires, c.RawExpires, c.Raw = time.Time{}, "", ""
		h.Cookies = append(h.Cookies, c.String())
	}
	if resp.StatusCode/100 != 3 { // a redirect's body repeats its Location
		h.Body = string(body)
	}
	return h
}

// browse is a visit to every page: signed out, signing in, signed in,
// signing out.
func browse(t *testing.T, app *testApp, c *http.Client) {
	t.Helper()
	for _, p := range []string{"/", "/anonymous", "/healthz", "/no/such/page?x=1"} {
		testenv.Do(t, c, "GET", app.URL+p, nil)
	}
	// The index function's catch-all forwards anyone's POST /sweep: only
	// the host's own timer invocation may sweep.
	if r := testenv.Do(t, c, "POST", app.URL+"/sweep", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("POST /sweep from outside: %d, want 404", r.Status)
	}
	r := testenv.Do(t, c, "GET", app.URL+"/private?tab=2", nil)
	testenv.SignIn(t, c, r.Location, alice.ObjectID)
	for _, p := range []string{"/private?tab=2", "/editProfile", "/logout"} {
		testenv.Do(t, c, "GET", app.URL+p, nil)
	}
	// A browser's sign-out without Sec-Fetch-Site: the cross-origin check
	// compares Origin with the Host header, which the host passes on.
	req, err := http.NewRequest("POST", app.URL+"/logout", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", app.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout: %d, want 303", resp.StatusCode)
	}
	testenv.Do(t, c, "GET", app.URL+"/", nil)
}

// A request forwarded exactly as the host sends it gets the testenv.Response a
// direct one gets, redirects and cookies included, and its log line
// carries the host's invocation ID.
func TestForwardedRequestsMatchDirect(t *testing.T) {
	app := startApp(t, appOptions{})
	public := strings.TrimPrefix(app.URL, "http://")
	direct := &appTransport{public: public}
	forwarded := &appTransport{public: public, handler: loopback(t, app), sent: map[string]string{}}
	for _, tr := range []*appTransport{direct, forwarded} {
		c := testenv.NewBrowser(t)
		c.Transport = tr
		browse(t, app, c)
	}
	if len(direct.hops) != len(forwarded.hops) {
		t.Fatalf("%d responses direct, %d forwarded", len(direct.hops), len(forwarded.hops))
	}
	for i, d := range direct.hops {
		if f := forwarded.hops[i]; !reflect.DeepEqual(d, f) {
			t.Errorf("%s differs when forwarded:\ndirect    %+v\nforwarded %+v", d.Request, d, f)
		}
	}
	t.Logf("%d responses compared", len(direct.hops))

	logged := map[string]string{} // invocation ID → path
	for _, line := range app.Log.Lines(t) {
		if line["msg"] == "request" && line["invocationId"] != nil {
			logged[line["invocationId"].(string)] = line["path"].(string)
		}
	}
	if !maps.Equal(logged, forwarded.sent) {
		t.Errorf("request log lines by invocation ID:\n got %v\nwant %v", logged, forwarded.sent)
	}
}

// timerPayload is what the host POSTs for a timer trigger, with the
// ScheduleStatus times in the given format.
func timerPayload(when string, pastDue bool) string {
	return fmt.Sprintf(`{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":%q,"Next":%q,"LastUpdated":%q},"IsPastDue":%t}},`+
		`"Metadata":{"sys":{"MethodName":"sweep","UtcNow":"2026-11-29T12:15:00.0312547Z","RandGuid":"0d3c2a52-5e0e-4d6b-9a39-3c1f0a3b8a1e"}}}`,
		when, when, when, pastDue)
}

// invokeTimer POSTs a timer invocation as the host does and checks that the
// answer has exactly the shape the host reads: Outputs, Logs, ReturnValue.
func invokeTimer(t *testing.T, handler, invocationID, body string) (status int, logs []string, removed int) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+handler+"/sweep", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	addHostHeaders(req.Header, invocationID)
	resp := testenv.Send(t, http.DefaultClient, req)
	b := []byte(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, []string{"Logs", "Outputs", "ReturnValue"}) {
		t.Errorf("body %s has keys %q, want Logs, Outputs, ReturnValue", b, keys)
	}
	if string(fields["Outputs"]) != "{}" {
		t.Errorf("Outputs = %s, want {}", fields["Outputs"])
	}
	if err := json.Unmarshal(fields["Logs"], &logs); err != nil || len(logs) == 0 {
		t.Errorf("Logs = %s, want a list of strings: %v", fields["Logs"], err)
	}
	if err := json.Unmarshal(fields["ReturnValue"], &removed); err != nil {
		t.Errorf("ReturnValue = %s, want a number: %v", fields["ReturnValue"], err)
	}
	return resp.Status, logs, removed
}

// seed stores n times what a sign-in leaves behind, a session with its
// token cache and the mark of its used state, with the clock at at.
func seed(t *testing.T, table *aztables.Client, at time.Time, n int) {
	t.Helper()
	store := session.NewStore(table, session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour, Now: func() time.Time { return at }})
	for range n {
		if _, err := store.Create(t.Context(), []byte("{}"), []byte("cache")); err != nil {
			t.Fatal(err)
		}
		if err := store.Consume(t.Context(), session.NewState()); err != nil {
			t.Fatal(err)
		}
	}
}

// The timer invocation sweeps expired rows and keeps live ones, whatever
// the payload: the host has sent ScheduleStatus times in several formats
// (host issue #7391), and a bad payload must not stop the sweep.
func TestTimerInvocation(t *testing.T) {
	app := startApp(t, appOptions{})
	cases := []struct {
		name    string
		body    string
		pastDue bool
		expired int // sign-ins that left expired rows
	}{
		{"ISO 8601 with offset", timerPayload("2026-11-29T12:00:00+00:00", false), false, 1},
		{"ISO 8601 without zone", timerPayload("2026-11-29T12:00:00", false), false, 1},
		{"ISO 8601 fractional UTC", timerPayload("2026-11-29T12:00:00.0077263Z", false), false, 1},
		{"US culture", timerPayload("11/29/2026 12:00:00", false), false, 1},
		{"first run", timerPayload("0001-01-01T00:00:00", false), false, 1},
		{"past due", timerPayload("2026-11-29T11:45:00+00:00", true), true, 1},
		{"malformed JSON", `{"Data":{"timer":`, false, 1},
		{"wrong types", `{"Data":{"timer":{"IsPastDue":"yes","ScheduleStatus":7}}}`, false, 1},
		{"empty body", "", false, 1},
		// More rows than one page of the sweep's listing (500).
		{"several pages", timerPayload("2026-11-29T12:00:00+00:00", false), false, 200},
	}
	live := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed(t, app.Table, time.Now().Add(-24*time.Hour), c.expired)
			seed(t, app.Table, time.Now(), 1)
			live++
			id := newInvocationID()
			status, _, removed := invokeTimer(t, loopback(t, app), id, c.body)
			// Each sign-in left a session, a token cache and the mark of its used state.
			if want := 3 * c.expired; status != http.StatusOK || removed != want {
				t.Errorf("status %d, removed %d; want 200, %d", status, removed, want)
			}
			if got, want := testenv.Rows(t, app.Table), map[string]int{"session": live, "tokencache": live, "used": live}; !maps.Equal(got, want) {
				t.Errorf("rows left %v, want the live ones %v", got, want)
			}
			i := slices.IndexFunc(app.Log.Lines(t), func(l map[string]any) bool { return l["msg"] == "swept" && l["invocationId"] == id })
			if i < 0 {
				t.Fatalf("no \"swept\" log line with invocationId %q", id)
			}
			if line := app.Log.Lines(t)[i]; line["pastDue"] != c.pastDue || line["removed"] != float64(3*c.expired) {
				t.Errorf("log line %v, want pastDue %v, removed %d", line, c.pastDue, 3*c.expired)
			}
		})
	}
}

// A sweep that fails still answers in the host's shape, so the host logs
// the failure instead of hanging; the next tick tries again.
func TestTimerInvocationStorageDown(t *testing.T) {
	az := testenv.NewAzurite(t)
	app := startApp(t, appOptions{azurite: az})
	az.Stop()
	status, logs, removed := invokeTimer(t, loopback(t, app), newInvocationID(), timerPayload("2026-11-29T12:00:00+00:00", false))
	if status != http.StatusInternalServerError || removed != 0 || len(logs) == 0 || !strings.Contains(logs[0], "sweep failed") {
		t.Errorf("status %d, removed %d, logs %q; want 500, 0, sweep failed", status, removed, logs)
	}
}

// proxy sends a request the way host.json's other HTTP mode,
// enableProxyingHttpRequest, would: the host's DefaultHttpProxyService hands
// it to YARP's IHttpForwarder with HttpTransformer.Default, which removes the
// original Host (the handler sees the loopback destination,
// http://127.0.0.1:<port>) and sets X-Forwarded-Host/Proto/For instead.
func proxy(t *testing.T, app *testApp, method, path string, header http.Header) *http.Response {
	t.Helper()
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, "http://"+loopback(t, app)+path, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	req.Header.Set("X-Forwarded-Host", u.Host)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	addHostHeaders(req.Header, newInvocationID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Why host.json stays on enableForwardingHttpRequest: the handler tells
// requests apart by their Host header, which forwarding passes on and
// proxying replaces. Proxied, a visitor's POST /sweep looks like the host's
// own timer call and sweeps, and a browser's sign-out without
// Sec-Fetch-Site is refused as cross-site (CrossOriginProtection compares
// Origin with Host). When this test fails, the handler no longer depends on
// Host, and the switch can be reconsidered.
func TestProxyingWouldFoolTheHandler(t *testing.T) {
	app := startApp(t, appOptions{})
	public := strings.TrimPrefix(app.URL, "http://")
	forwarded := &http.Client{Transport: &appTransport{public: public, handler: loopback(t, app), sent: map[string]string{}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	send := func(c *http.Client, method, path string, header http.Header) int {
		req, err := http.NewRequest(method, app.URL+path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(req.Header, header)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	timerLike := http.Header{"Content-Type": {"application/json"}}
	origin := http.Header{"Origin": {app.URL}}

	if got := send(forwarded, "POST", "/sweep", timerLike); got != http.StatusNotFound {
		t.Errorf("a visitor's POST /sweep, forwarded: %d, want 404", got)
	}
	if got := proxy(t, app, "POST", "/sweep", timerLike).StatusCode; got != http.StatusOK {
		t.Errorf("a visitor's POST /sweep, proxied: %d; want 200 (taken for the timer), the reason host.json does not proxy", got)
	}
	if got := send(forwarded, "POST", "/logout", origin); got != http.StatusSeeOther {
		t.Errorf("sign-out with Origin and no Sec-Fetch-Site, forwarded: %d, want 303", got)
	}
	if got := proxy(t, app, "POST", "/logout", origin).StatusCode; got != http.StatusForbidden {
		t.Errorf("sign-out with Origin and no Sec-Fetch-Site, proxied: %d; want 403 (Origin is not the Host), the reason host.json does not proxy", got)
	}
}
