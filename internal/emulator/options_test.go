package emulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestStartOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
	}{
		{"unknown policy claim", Policy{Name: "B2C_1_a", PolicyClaim: "TFP"}},
		{"unknown application claim", Policy{Name: "B2C_1_a", ApplicationClaims: []string{"email"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStartError(t, Config{Tenant: "contoso", Policies: []Policy{tt.policy}})
		})
	}
}

func TestPolicyClaim(t *testing.T) {
	tests := []struct {
		claim        string
		has, hasNot  string // claim names
		discoveryHas string
	}{
		{"", "tfp", "acr", "tfp"},
		{"tfp", "tfp", "acr", "tfp"},
		{"acr", "acr", "tfp", "acr"},
		{"none", "", "tfp acr", ""},
	}
	for _, tt := range tests {
		t.Run("claim "+tt.claim, func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) { c.Policies[0].PolicyClaim = tt.claim })
			body := redeem(t, s, susi, "openid "+apiScope)
			for _, token := range []string{"id_token", "access_token"} {
				c := claimsOf(t, s, body[token])
				if tt.has != "" && c[tt.has] != susi {
					t.Errorf("%s %s = %v, want %q", token, tt.has, c[tt.has], susi)
				}
				for _, name := range strings.Fields(tt.hasNot) {
					if v, ok := c[name]; ok {
						t.Errorf("%s has %s = %v", token, name, v)
					}
				}
			}
			_, d := newFlow(t, s, Client{ID: clientID, RedirectURIs: []string{redirectURI}}).discovery(susi)
			var supported []string
			for _, v := range d["claims_supported"].([]any) {
				supported = append(supported, v.(string))
			}
			for _, name := range []string{"tfp", "acr"} {
				if want := name == tt.discoveryHas; slices.Contains(supported, name) != want {
					t.Errorf("claims_supported %v: has %s = %v, want %v", supported, name, !want, want)
				}
			}
		})
	}
}

func TestApplicationClaims(t *testing.T) {
	all := []string{"oid", "name", "given_name", "family_name", "emails", "newUser"}
	tests := []struct {
		name   string
		claims []string
		want   []string // application claims in the ID token of a sign-up
	}{
		{"nil returns all", nil, all},
		{"empty returns none", []string{}, nil},
		{"emails and name", []string{"emails", "name"}, []string{"emails", "name"}},
		{"oid only", []string{"oid"}, []string{"oid"}},
		{"newUser only", []string{"newUser"}, []string{"newUser"}},
		{"idp is never issued to local accounts", []string{"idp", "oid"}, []string{"oid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) { c.Policies[0].ApplicationClaims = tt.claims })
			v, verifier := authParams("openid " + apiScope)
			_, page := get(t, authorizeURL(s, susi, v))
			resp, _ := click(t, s, page, "signup", url.Values{"signup-name": {"Carol New"}, "signup-email": {"carol@example.com"}})
			_, body := postToken(t, s, susi, codeForm(redirectParams(t, resp).Get("code"), verifier))
			id := claimsOf(t, s, body["id_token"])
			for _, c := range append(all, "idp") {
				if _, has := id[c]; has != slices.Contains(tt.want, c) {
					t.Errorf("ID token has %s = %v, want %v", c, has, !has)
				}
			}
			for _, c := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "auth_time", "nonce", "ver", "tfp"} {
				if _, has := id[c]; !has {
					t.Errorf("ID token lacks %s, which no user flow setting removes", c)
				}
			}
			// Access tokens carry the same choice of oid and name.
			at := claimsOf(t, s, body["access_token"])
			for _, c := range []string{"oid", "name"} {
				if _, has := at[c]; has != slices.Contains(tt.want, c) {
					t.Errorf("access token has %s = %v, want %v", c, has, !has)
				}
			}
			_, d := newFlow(t, s, Client{ID: clientID, RedirectURIs: []string{redirectURI}}).discovery(susi)
			for _, c := range tt.want {
				if !slices.Contains(d["claims_supported"].([]any), any(c)) {
					t.Errorf("claims_supported %v lacks %s", d["claims_supported"], c)
				}
			}
		})
	}
}

func TestLegacySubject(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "object ID", true: "legacy"}[legacy], func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) { c.Policies[0].LegacySubject = legacy })
			body := redeem(t, s, susi, "openid "+apiScope)
			want := alice.ObjectID
			if legacy {
				want = "Not supported currently. Use oid claim."
			}
			for _, token := range []string{"id_token", "access_token"} {
				c := claimsOf(t, s, body[token])
				if c["sub"] != want || c["oid"] != alice.ObjectID {
					t.Errorf("%s sub %v oid %v, want %q and %q", token, c["sub"], c["oid"], want, alice.ObjectID)
				}
			}
			req, _ := http.NewRequest("GET", s.APIURL(), nil)
			req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("API status = %d", resp.StatusCode)
			}
		})
	}
}

func TestGrantedScopes(t *testing.T) {
	read, write := apiURI+"/tasks.read", apiURI+"/tasks.write"
	tests := []struct {
		name     string
		granted  []string
		scope    string // asked for at authorize
		refresh  string // asked for at refresh; "" skips the refresh
		code     string // AADB2C code of the failure, "" for success
		scp      string // of the access token
		granted2 string // scope of the response
	}{
		{"nil grants every API scope", nil, "openid offline_access " + read + " " + write, "", "", "tasks.read tasks.write", read + " " + write + " openid offline_access"},
		{"ungranted scope left out", []string{read}, "openid offline_access " + read + " " + write, "", "", "tasks.read", read + " openid offline_access"},
		{"granted scope alone", []string{read}, "openid offline_access " + read, "", "", "tasks.read", read + " openid offline_access"},
		{"none granted at authorize", []string{read}, "openid offline_access " + write, "", "AADB2C90205", "", ""},
		{"empty grant refuses every API scope", []string{}, "openid " + read, "", "AADB2C90205", "", ""},
		{"refresh asks for an ungranted scope too", []string{read}, "openid offline_access " + read, read + " " + write, "", "tasks.read", read + " offline_access"},
		{"refresh asks for an ungranted scope only", []string{read}, "openid offline_access " + read, write, "AADB2C90205", "", ""},
		{"the app's own client ID needs no grant", []string{}, "openid offline_access " + clientID, "", "", "", clientID + " openid offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) {
				c.APIs[0].Scopes = []string{"tasks.read", "tasks.write"}
				c.Clients[0].GrantedScopes = tt.granted
			})
			v, verifier := authParams(tt.scope)
			resp, page := get(t, authorizeURL(s, susi, v))
			if tt.code != "" && tt.refresh == "" {
				// The authorize request itself is refused, back to the app.
				q := redirectParams(t, resp)
				if q.Get("error") != "invalid_request" || !strings.HasPrefix(q.Get("error_description"), tt.code+": ") {
					t.Fatalf("redirect query = %v, want invalid_request %s", q, tt.code)
				}
				return
			}
			resp, _ = click(t, s, page, "user-"+alice.ObjectID, nil)
			q := redirectParams(t, resp)
			if q.Get("code") == "" {
				t.Fatalf("redirect query = %v, want a code", q)
			}
			status, body := postToken(t, s, susi, codeForm(q.Get("code"), verifier))
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, body)
			}
			if tt.refresh != "" {
				status, body = postToken(t, s, susi, refreshForm(body["refresh_token"].(string), tt.refresh))
				if tt.code != "" {
					desc, _ := body["error_description"].(string)
					if status != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.HasPrefix(desc, tt.code+": ") {
						t.Fatalf("refresh: %d %v, want 400 invalid_request %s", status, body, tt.code)
					}
					return
				}
				if status != http.StatusOK {
					t.Fatalf("refresh: %d %v", status, body)
				}
			}
			if body["scope"] != tt.granted2 {
				t.Errorf("scope = %q, want %q", body["scope"], tt.granted2)
			}
			if scp := claimsOf(t, s, body["access_token"])["scp"]; tt.scp != "" && scp != tt.scp {
				t.Errorf("scp = %v, want %q", scp, tt.scp)
			}
		})
	}
}

func TestStrictLogout(t *testing.T) {
	const other = "http://localhost:7072/getAToken" // registered for the second app only
	tests := []struct {
		name     string
		strict   bool
		hint     string // "fresh", "expired", "other app" or ""
		target   string
		status   int
		inPage   string
		location string
	}{
		{"registered URI", true, "fresh", redirectURI, 302, "", redirectURI + "?state=xyz"},
		{"same origin, other path, strict", true, "fresh", "http://localhost:7071/signed-out", 400, "AADB2C90006", ""},
		{"same origin, other path, default", false, "fresh", "http://localhost:7071/signed-out", 302, "", "http://localhost:7071/signed-out?state=xyz"},
		{"URI of another app, strict", true, "fresh", other, 400, "AADB2C90006", ""},
		{"hint of another app, strict", true, "other app", redirectURI, 400, "AADB2C90006", ""},
		{"expired hint, strict", true, "expired", redirectURI, 400, "AADB2C90208", ""},
		{"expired hint, default", false, "expired", redirectURI, 302, "", redirectURI + "?state=xyz"},
		{"no redirect, strict", true, "fresh", "", 200, "You have signed out", ""},
		{"no hint, strict: the default rule", true, "", "http://localhost:7071/signed-out", 302, "", "http://localhost:7071/signed-out?state=xyz"},
		{"no hint, strict, unknown origin", true, "", "http://evil.example/", 200, "You have signed out", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			second := Client{ID: "22222222-2222-4333-8444-555555555555", Secret: "second-secret", RedirectURIs: []string{other}}
			s, clk := startServer(t, func(c *Config) {
				c.StrictLogout = tt.strict
				c.Clients = append(c.Clients, second)
			})
			params := url.Values{"state": {"xyz"}}
			if tt.target != "" {
				params.Set("post_logout_redirect_uri", tt.target)
			}
			switch tt.hint {
			case "fresh", "expired":
				params.Set("id_token_hint", redeem(t, s, susi, "openid")["id_token"].(string))
			case "other app":
				params.Set("id_token_hint", newFlow(t, s, second).redeem(susi, "openid", "n", alice)["id_token"].(string))
			}
			if tt.hint == "expired" {
				clk.Add(time.Hour) // the ID token lifetime
			}
			resp, page := get(t, s.BrowserURL()+"/contoso.onmicrosoft.com/"+susi+"/oauth2/v2.0/logout?"+params.Encode())
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d:\n%s", resp.StatusCode, tt.status, page)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if !strings.Contains(page, tt.inPage) {
				t.Errorf("page lacks %q:\n%s", tt.inPage, page)
			}
		})
	}
}

// msalSignIn signs alice in through MSAL Go with authority, driving the
// pages with f, and returns the result and MSAL's client.
func msalSignIn(t *testing.T, f *flow, authority string) (confidential.AuthResult, confidential.Client) {
	t.Helper()
	ctx := t.Context()
	cred, err := confidential.NewCredFromSecret(f.client.Secret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(authority, f.client.ID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(f.http))
	if err != nil {
		t.Fatal(err)
	}
	authURL, err := app.AuthCodeURL(ctx, f.client.ID, f.redirect, []string{"openid", "offline_access", apiScope})
	if err != nil {
		t.Fatal(err)
	}
	// MSAL has no state, nonce or PKCE options for AuthCodeURL.
	verifier := rand.Text() + rand.Text()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.pages + "/"; !strings.HasPrefix(authURL, want) {
		t.Fatalf("MSAL's authorize URL %q is not on %q", authURL, want)
	}
	q := u.Query()
	q.Set("state", "s")
	q.Set("nonce", "n")
	q.Set("code_challenge", s256(verifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	resp, page := f.get(u.String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	resp, _ = f.click(page, "user-"+alice.ObjectID, nil)
	code := f.back(resp).Get("code")
	res, err := app.AcquireTokenByAuthCode(ctx, code, f.redirect, []string{apiScope}, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return res, app
}

// verifyIDToken checks an ID token with go-oidc against the issuer and keys
// of policy's discovery document, fetched through f.
func verifyIDToken(t *testing.T, f *flow, clk *testenv.Clock, policy, raw string) *oidc.IDToken {
	t.Helper()
	_, d := f.discovery(strings.ToLower(policy))
	ctx := oidc.ClientContext(t.Context(), f.http)
	keys := oidc.NewRemoteKeySet(ctx, d["jwks_uri"].(string))
	tok, err := oidc.NewVerifier(d["issuer"].(string), keys, &oidc.Config{ClientID: f.client.ID, Now: clk.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIssuerForm(t *testing.T) {
	tests := []struct {
		name   string
		form   IssuerForm
		custom bool
	}{
		{"tenant ID", IssuerTenantID, false},
		{"tfp", IssuerTFP, false},
		{"tenant ID, custom domain", IssuerTenantID, true},
		{"tfp, custom domain", IssuerTFP, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := startServer(t, func(c *Config) { c.CustomDomain = "127.0.0.1" })
			s.SetIssuerForm(tt.form)
			f := newFlow(t, s, Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}})
			host := s.TLSHost()
			if tt.custom {
				f.throughCustomDomain()
				host = s.CustomDomainHost()
			}
			want := "https://" + host + "/" + s.TenantID() + "/v2.0/"
			if tt.form == IssuerTFP {
				want = "https://" + host + "/tfp/" + s.TenantID() + "/b2c_1_signupsignin1/v2.0/"
			}
			if got := s.PolicyIssuer(host, susi); got != want {
				t.Errorf("PolicyIssuer = %q, want %q", got, want)
			}
			if _, d := f.discovery(susi); d["issuer"] != want {
				t.Errorf("discovery issuer = %v, want %q", d["issuer"], want)
			}
			// MSAL checks the issuer's host; go-oidc checks the whole issuer.
			res, _ := msalSignIn(t, f, "https://"+host+"/contoso.onmicrosoft.com/"+susi)
			if tok := verifyIDToken(t, f, clk, susi, res.IDToken.RawToken); tok.Issuer != want {
				t.Errorf("ID token iss = %q, want %q", tok.Issuer, want)
			}
			if iss := claimsOf(t, s, res.AccessToken)["iss"]; iss != want {
				t.Errorf("access token iss = %v, want %q", iss, want)
			}
			// A token keeps its issuer when the setting changes, and the API
			// accepts tokens of both forms.
			s.SetIssuerForm(1 - tt.form)
			if status, _ := callAPIJSON(t, s, res.AccessToken); status != http.StatusOK {
				t.Errorf("API status for a token of the previous form = %d", status)
			}
			if _, d := f.discovery(susi); d["issuer"] == want {
				t.Errorf("discovery issuer still %q after SetIssuerForm", want)
			}
		})
	}
}

func TestIssuerDefault(t *testing.T) {
	s, _ := startServer(t)
	if s.PolicyIssuer(s.TLSHost(), susi) != s.Issuer() {
		t.Errorf("PolicyIssuer = %q, want Issuer() %q by default", s.PolicyIssuer(s.TLSHost(), susi), s.Issuer())
	}
	if s.CustomDomainHost() != "" {
		t.Errorf("CustomDomainHost = %q without a custom domain", s.CustomDomainHost())
	}
}

func TestCustomDomain(t *testing.T) {
	tests := []struct {
		domain string
		dial   bool // a name the test resolves to the loopback address itself
	}{
		{"127.0.0.1", false},
		{"login.contoso.test", true},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			s, clk := startServer(t, func(c *Config) { c.CustomDomain = tt.domain })
			host := s.CustomDomainHost()
			h, p, err := net.SplitHostPort(host)
			if err != nil || h != tt.domain || p == "0" {
				t.Fatalf("CustomDomainHost = %q", host)
			}
			f := newFlow(t, s, Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}).throughCustomDomain()
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(s.CACertPEM())
			transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			if tt.dial {
				_, port, _ := net.SplitHostPort(host)
				transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					if addr == host {
						addr = net.JoinHostPort("127.0.0.1", port)
					}
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}
			}
			f.http.Transport = transport

			// The certificate names the domain, and only it.
			conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", p), &tls.Config{RootCAs: pool, ServerName: tt.domain})
			if err != nil {
				t.Fatalf("TLS handshake for %s: %v", tt.domain, err)
			}
			conn.Close()
			if _, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", p), &tls.Config{RootCAs: pool, ServerName: "localhost"}); err == nil {
				t.Error("the custom domain's certificate also names localhost")
			}

			for _, tenant := range []string{"contoso.onmicrosoft.com", s.TenantID()} {
				f.tenant = tenant
				status, d := f.discovery(susi)
				if status != http.StatusOK {
					t.Fatalf("discovery through %s/%s: %d", host, tenant, status)
				}
				base := "https://" + host + "/" + tenant + "/b2c_1_signupsignin1"
				for field, want := range map[string]string{
					"issuer":                 "https://" + host + "/" + s.TenantID() + "/v2.0/",
					"authorization_endpoint": base + "/oauth2/v2.0/authorize",
					"token_endpoint":         base + "/oauth2/v2.0/token",
					"end_session_endpoint":   base + "/oauth2/v2.0/logout",
					"jwks_uri":               base + "/discovery/v2.0/keys",
				} {
					if d[field] != want {
						t.Errorf("%s: %s = %v, want %q", tenant, field, d[field], want)
					}
				}
			}

			// The whole flow stays on the domain, and so do the tokens' issuer.
			res, app := msalSignIn(t, f, s.AuthorityByTenantID(host, susi))
			tok := verifyIDToken(t, f, clk, susi, res.IDToken.RawToken)
			if want := "https://" + host + "/" + s.TenantID() + "/v2.0/"; tok.Issuer != want {
				t.Errorf("ID token iss = %q, want %q", tok.Issuer, want)
			}
			if status, _ := callAPIJSON(t, s, res.AccessToken); status != http.StatusOK {
				t.Errorf("API status = %d", status)
			}
			for _, r := range s.Requests() {
				if r.Endpoint == "" || r.Status >= 400 {
					t.Errorf("request %+v", r)
				}
			}
			if _, err := app.AcquireTokenSilent(t.Context(), []string{apiScope}, confidential.WithSilentAccount(res.Account)); err != nil {
				t.Errorf("silent token: %v", err)
			}

			// The default listeners are unchanged.
			g := newFlow(t, s, Client{ID: clientID, RedirectURIs: []string{redirectURI}})
			if _, d := g.discovery(susi); d["issuer"] != s.Issuer() || !strings.HasPrefix(d["authorization_endpoint"].(string), s.BrowserURL()+"/") {
				t.Errorf("discovery through the TLS listener: %v", d)
			}
		})
	}
}

func TestAuthorityByTenantID(t *testing.T) {
	// MSAL lowercases the authority, so the tenant ID matches in any case.
	s, clk := startServer(t, func(c *Config) { c.TenantID = "775527FF-9A37-4307-8B3D-CC311F58D925" })
	if got, want := s.AuthorityByTenantID("login.example", susi), "https://login.example/775527FF-9A37-4307-8B3D-CC311F58D925/"+susi; got != want {
		t.Errorf("AuthorityByTenantID = %q, want %q", got, want)
	}
	f := newFlow(t, s, Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}})
	f.tenant = strings.ToLower(s.TenantID())
	res, _ := msalSignIn(t, f, s.AuthorityByTenantID(s.TLSHost(), susi))
	verifyIDToken(t, f, clk, susi, res.IDToken.RawToken)
	var paths []string
	for _, r := range s.Requests() {
		if r.Endpoint == "discovery" || r.Endpoint == "token" {
			paths = append(paths, r.Endpoint)
		}
	}
	if !slices.Contains(paths, "token") {
		t.Errorf("requests %v, want the token endpoint under the tenant ID", paths)
	}
	_, d := f.discovery(susi)
	if tokenEndpoint := d["token_endpoint"].(string); !strings.Contains(strings.ToLower(tokenEndpoint), "/"+f.tenant+"/") {
		t.Errorf("token_endpoint %q is not under the tenant ID", tokenEndpoint)
	}
}

func TestBreakNextTokenResponse(t *testing.T) {
	s, _ := startServer(t)
	f := newFlow(t, s, Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}})
	before := len(s.Issued())

	// A bad request is answered as usual and leaves the break for the next
	// successful response.
	s.BreakNextTokenResponse()
	if status, _ := f.post(susi, refreshForm("nope", apiScope)); status != http.StatusBadRequest {
		t.Errorf("failing request: status %d", status)
	}

	cred, _ := confidential.NewCredFromSecret(clientSecret)
	app, err := confidential.New(s.Authority(susi), clientID, cred, confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(f.http))
	if err != nil {
		t.Fatal(err)
	}
	code, verifier := f.signIn(susi, "openid", "n", alice) // no API scope, no offline_access
	_, err = app.AcquireTokenByAuthCode(t.Context(), code, redirectURI, []string{"openid"}, confidential.WithChallenge(verifier))
	if err == nil {
		t.Fatal("MSAL parsed the broken response")
	}
	issued := s.Issued()[before:]
	if len(issued) != 4 { // code, access, ID and refresh token
		t.Fatalf("issued %d values, want 4", len(issued))
	}
	for i, v := range issued[1:] {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("MSAL's error does not quote token %d of the body", i)
		}
	}
	claimsOf(t, s, issued[1]) // real tokens
	claimsOf(t, s, issued[2])
	if r := s.Requests()[len(s.Requests())-1]; r.Endpoint != "token" || r.Status != http.StatusOK {
		t.Errorf("logged %+v, want a 200 from the token endpoint", r)
	}

	// The refresh token works, and the next response is whole.
	status, body := f.post(susi, refreshForm(issued[3], apiScope))
	if status != http.StatusOK {
		t.Fatalf("refresh after the broken response: %d %v", status, body)
	}
	if _, ok := body["expires_in"].(string); !ok {
		t.Errorf("expires_in = %#v, want a string again", body["expires_in"])
	}
}

func TestBrokenBodyShape(t *testing.T) {
	s, _ := startServer(t)
	s.BreakNextTokenResponse()
	code, verifier := signIn(t, s, susi, "openid offline_access "+apiScope, "user-"+alice.ObjectID)
	status, body := postToken(t, s, susi, codeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if _, ok := body["expires_in"].(map[string]any); !ok {
		t.Errorf("expires_in = %#v, want an object", body["expires_in"])
	}
	for _, field := range []string{"access_token", "id_token", "refresh_token"} {
		if v, _ := body[field].(string); v == "" || !slices.Contains(s.Issued(), v) {
			t.Errorf("%s = %q, want a token listed by Issued", field, v)
		}
	}
}

func TestIssued(t *testing.T) {
	s, _ := startServer(t)
	if n := len(s.Issued()); n != 0 {
		t.Fatalf("Issued holds %d values at start", n)
	}
	code, verifier := signIn(t, s, susi, "openid offline_access "+apiScope, "user-"+alice.ObjectID)
	_, body := postToken(t, s, susi, codeForm(code, verifier))
	want := []string{code, body["access_token"].(string), body["id_token"].(string), body["refresh_token"].(string)}
	if got := s.Issued(); !slices.Equal(got, want) {
		t.Errorf("Issued = %d values, want the code, then the access, ID and refresh tokens", len(got))
	}
	_, body = postToken(t, s, susi, refreshForm(body["refresh_token"].(string), apiScope))
	got := s.Issued()
	if len(got) != 6 || got[4] != body["access_token"] || got[5] != body["refresh_token"] {
		t.Errorf("after a refresh Issued holds %d values, want the new access and refresh tokens last", len(got))
	}
	got[0] = "changed"
	if s.Issued()[0] != code {
		t.Error("Issued returns the emulator's own slice")
	}
}
