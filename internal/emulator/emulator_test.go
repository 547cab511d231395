package emulator

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

const (
	clientID     = "11111111-2222-4333-8444-555555555555"
	clientSecret = "test-secret"
	redirectURI  = "http://localhost:7071/getAToken"
	apiClientID  = "99999999-8888-4777-8666-555555555555"
	apiURI       = "https://contoso.onmicrosoft.com/tasks-api"
	apiScope     = apiURI + "/tasks.read"

	susi       = "B2C_1_signupsignin1"
	susiReset  = "B2C_1_susi_embedded_reset"
	editPolicy = "B2C_1_profileediting1"
	resetFlow  = "B2C_1_passwordreset1"
)

var (
	alice = withPassword(Alice, "alice-pw")
	bob   = Bob
)

// startServer starts an emulator with the four kinds of policy, one client,
// one API and two users, on a clock starting now.
func startServer(t *testing.T, edit ...func(*Config)) (*Server, *testenv.Clock) {
	t.Helper()
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	s := startWith(t, Config{
		Tenant: "contoso",
		Policies: []Policy{
			{Name: susi, Kind: SignUpSignIn},
			{Name: susiReset, Kind: SignUpSignInWithReset},
			{Name: editPolicy, Kind: ProfileEdit},
			{Name: resetFlow, Kind: PasswordReset},
		},
		Clients: []Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}},
		Users:   []User{alice, bob},
		APIs:    []API{{AppIDURI: apiURI, ClientID: apiClientID, Scopes: []string{"tasks.read"}}},
		Now:     clk.Now,
	}, edit...)
	return s, clk
}

// tlsClient trusts the emulator's CA.
func tlsClient(t *testing.T, s *Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// browser does not follow redirects, so tests can read Location.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authParams are a valid authorize request's parameters and its PKCE verifier.
func authParams(scope string) (url.Values, string) {
	verifier := strings.Repeat("v", 43)
	return url.Values{
		"client_id":             {clientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"scope":                 {scope},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {s256(verifier)},
		"code_challenge_method": {"S256"},
	}, verifier
}

func authorizeURL(s *Server, policy string, v url.Values) string {
	return s.BrowserURL() + "/contoso.onmicrosoft.com/" + policy + "/oauth2/v2.0/authorize?" + v.Encode()
}

// get fetches a page and returns it with its body.
func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	return getPage(t, browser, u)
}

// click submits the form holding the button with the given id to the
// browser origin, as submit does.
func click(t *testing.T, s *Server, page, buttonID string, fields url.Values) (*http.Response, string) {
	t.Helper()
	return submit(t, browser, s.BrowserURL(), page, buttonID, fields)
}

// redirectParams checks resp sends the browser to the app and returns the
// query it sends along.
func redirectParams(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	return redirectedTo(t, resp, redirectURI)
}

// signIn runs an authorize request for policy and clicks the buttons in
// turn, the last of which must send the code. It returns the code and the
// PKCE verifier.
func signIn(t *testing.T, s *Server, policy, scope string, buttons ...string) (code, verifier string) {
	t.Helper()
	v, verifier := authParams(scope)
	resp, page := get(t, authorizeURL(s, policy, v))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, page)
	}
	for _, b := range buttons {
		resp, page = click(t, s, page, b, nil)
	}
	q := redirectParams(t, resp)
	if q.Get("state") != "state-123" || q.Get("code") == "" {
		t.Fatalf("redirect query = %v, want a code and the state", q)
	}
	return q.Get("code"), verifier
}

// postToken calls the token endpoint of policy and decodes the JSON answer.
func postToken(t *testing.T, s *Server, policy string, form url.Values) (int, map[string]any) {
	t.Helper()
	return postJSON(t, tlsClient(t, s), "https://"+s.TLSHost()+"/contoso.onmicrosoft.com/"+policy+"/oauth2/v2.0/token", form)
}

func codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
}

func refreshForm(rt, scope string) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
		"refresh_token": {rt},
		"scope":         {scope},
	}
}

// redeem signs alice in with scope and redeems the code.
func redeem(t *testing.T, s *Server, policy, scope string) map[string]any {
	t.Helper()
	code, verifier := signIn(t, s, policy, scope, "user-"+alice.ObjectID)
	status, body := postToken(t, s, policy, codeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("token: status %d: %v", status, body)
	}
	return body
}

// claimsOf verifies a token with the emulator's keys and returns its claims.
func claimsOf(t *testing.T, s *Server, token any) map[string]any {
	t.Helper()
	raw, _ := token.(string)
	var c map[string]any
	if err := s.verify(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStartConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no tenant", Config{}},
		{"repeated policy", Config{Tenant: "contoso", Policies: []Policy{{Name: "B2C_1_a"}, {Name: "b2c_1_A"}}}},
		{"empty policy name", Config{Tenant: "contoso", Policies: []Policy{{}}}},
		{"bad address", Config{Tenant: "contoso", TLSAddr: "256.0.0.1:bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStartError(t, tt.cfg)
		})
	}
}

func TestRequestLog(t *testing.T) {
	s, _ := startServer(t)
	redeem(t, s, susi, "openid offline_access "+apiScope)

	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Endpoint+" "+r.Policy+" "+r.GrantType+" "+r.ClientID)
	}
	want := []string{
		"authorize b2c_1_signupsignin1  " + clientID,
		"login b2c_1_signupsignin1  ",
		"token b2c_1_signupsignin1 authorization_code " + clientID,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("request log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("after ResetRequests, %d requests", n)
	}
}

func withPassword(u User, password string) User {
	u.Password = password
	return u
}
