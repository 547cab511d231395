package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// flow drives the emulator as one registered app, through one origin for
// the pages and one host for the OAuth endpoints, so tests can use any
// client ID, tenant path form or custom domain.
type flow struct {
	t        *testing.T
	s        *Server
	client   Client
	redirect string
	tenant   string // path segment: "contoso.onmicrosoft.com" or the tenant ID
	pages    string // origin of the pages, e.g. s.BrowserURL()
	oauth    string // host:port of discovery, keys and token, e.g. s.TLSHost()
	http     *http.Client
}

// newFlow is a flow for c, its first redirect URI, the onmicrosoft.com path
// form and the default listeners.
func newFlow(t *testing.T, s *Server, c Client) *flow {
	t.Helper()
	client := tlsClient(t, s)
	client.CheckRedirect = browser.CheckRedirect // so tests can read Location
	return &flow{
		t: t, s: s, client: c, redirect: c.RedirectURIs[0],
		tenant: s.tenantDomain, pages: s.BrowserURL(), oauth: s.TLSHost(),
		http: client,
	}
}

// throughCustomDomain sends every request of the flow to the custom domain.
func (f *flow) throughCustomDomain() *flow {
	f.pages, f.oauth = "https://"+f.s.CustomDomainHost(), f.s.CustomDomainHost()
	return f
}

// path is the path of the endpoints of policy: /{tenant}/{policy}, or in
// External ID mode, which has no policy segment, /{tenant}.
func (f *flow) path(policy string) string {
	if f.s.cfg.ExternalID {
		return "/" + f.tenant
	}
	return "/" + f.tenant + "/" + policy
}

func (f *flow) get(u string) (*http.Response, string) {
	f.t.Helper()
	return getPage(f.t, f.http, u)
}

// authorize opens the sign-in page of policy and returns the response, its
// body and the PKCE verifier.
func (f *flow) authorize(policy, scope, nonce, state string) (*http.Response, string, string) {
	f.t.Helper()
	verifier := strings.Repeat("v", 43)
	v := url.Values{
		"client_id": {f.client.ID}, "response_type": {"code"}, "redirect_uri": {f.redirect},
		"scope": {scope}, "state": {state}, "nonce": {nonce},
		"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"},
	}
	resp, page := f.get(f.pages + f.path(policy) + "/oauth2/v2.0/authorize?" + v.Encode())
	return resp, page, verifier
}

// click submits the form holding the button with the given id to the
// flow's page origin, as submit does.
func (f *flow) click(page, buttonID string, fields url.Values) (*http.Response, string) {
	f.t.Helper()
	return submit(f.t, f.http, f.pages, page, buttonID, fields)
}

// back checks resp sends the browser to the flow's redirect URI and returns
// the query it carries.
func (f *flow) back(resp *http.Response) url.Values {
	f.t.Helper()
	return redirectedTo(f.t, resp, f.redirect)
}

// signIn signs user in to policy with scope and nonce and returns the code
// and the PKCE verifier.
func (f *flow) signIn(policy, scope, nonce string, user User) (string, string) {
	f.t.Helper()
	resp, page, verifier := f.authorize(policy, scope, nonce, "state-1")
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	resp, _ = f.click(page, "user-"+user.ObjectID, nil)
	q := f.back(resp)
	if q.Get("code") == "" {
		f.t.Fatalf("redirect query = %v, want a code", q)
	}
	return q.Get("code"), verifier
}

// post calls the token endpoint of policy and decodes the JSON answer.
func (f *flow) post(policy string, form url.Values) (int, map[string]any) {
	f.t.Helper()
	return postJSON(f.t, f.http, "https://"+f.oauth+f.path(policy)+"/oauth2/v2.0/token", form)
}

func (f *flow) codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "client_id": {f.client.ID}, "client_secret": {f.client.Secret},
		"code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier},
	}
}

func (f *flow) refreshForm(rt, scope string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "client_id": {f.client.ID}, "client_secret": {f.client.Secret},
		"refresh_token": {rt}, "scope": {scope},
	}
}

// redeem signs user in and redeems the code; the token request must succeed.
func (f *flow) redeem(policy, scope, nonce string, user User) map[string]any {
	f.t.Helper()
	code, verifier := f.signIn(policy, scope, nonce, user)
	status, body := f.post(policy, f.codeForm(code, verifier))
	if status != http.StatusOK {
		f.t.Fatalf("token: %d %v", status, body)
	}
	return body
}

// getJSON fetches u and decodes the JSON answer.
func (f *flow) getJSON(u string) (int, map[string]any) {
	f.t.Helper()
	resp, body := f.get(u)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		f.t.Fatalf("GET %s: %d, not JSON: %v\n%s", u, resp.StatusCode, err, body)
	}
	return resp.StatusCode, m
}

// discovery fetches the discovery document of policy through the flow's
// OAuth host.
func (f *flow) discovery(policy string) (int, map[string]any) {
	f.t.Helper()
	return f.getJSON("https://" + f.oauth + f.path(policy) + "/v2.0/.well-known/openid-configuration")
}
