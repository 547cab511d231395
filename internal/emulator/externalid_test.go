package emulator

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
)

func TestExternalIDAuthorityAndIssuer(t *testing.T) {
	s, _, _ := startExternalID(t)
	_, port, _ := strings.Cut(s.TLSHost(), ":")
	if got, want := s.ExternalIDAuthority(true), "https://localhost:"+port+"/"+xTenantID; got != want {
		t.Errorf("ExternalIDAuthority(true) = %q, want %q", got, want)
	}
	if got, want := s.ExternalIDAuthority(false), "https://localhost:"+port+"/contoso.onmicrosoft.com"; got != want {
		t.Errorf("ExternalIDAuthority(false) = %q, want %q", got, want)
	}
	// security-tokens.md: the issuer is https://{tenantid}.ciamlogin.com/{tenantid}/v2.0,
	// another host than the authority's, which 127.0.0.1:PORT serves.
	if got, want := s.ExternalIDIssuer(), "https://"+xTenantID+".ciamlogin.com/"+xTenantID+"/v2.0"; got != want {
		t.Errorf("ExternalIDIssuer() = %q, want %q", got, want)
	}
	if got, want := s.TenantIDHost(), "127.0.0.1:"+port; got != want {
		t.Errorf("TenantIDHost() = %q, want %q", got, want)
	}
}

// TestExternalIDDiscoveryHosts checks the hosts the shape test cannot: the
// issuer Azure's whatever host the request came through, the
// endpoints MSAL calls on the request's host, the pages on the browser
// listener, and the tenant segment of the request kept.
func TestExternalIDDiscoveryHosts(t *testing.T) {
	s, _, f := startExternalID(t)
	for _, base := range []string{
		s.ExternalIDAuthority(true),
		s.ExternalIDAuthority(false),
		"https://" + s.TenantIDHost() + "/" + xTenantID, // the tenant-ID host serves it too
	} {
		t.Run(base, func(t *testing.T) {
			status, d := f.getJSON(base + "/v2.0/.well-known/openid-configuration")
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, d)
			}
			u, _ := url.Parse(base)
			pages := s.BrowserURL() + u.Path
			want := map[string]string{
				"issuer":                 s.ExternalIDIssuer(),
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"jwks_uri":               base + "/discovery/v2.0/keys",
				"authorization_endpoint": pages + "/oauth2/v2.0/authorize",
				"end_session_endpoint":   pages + "/oauth2/v2.0/logout",
			}
			for k, v := range want {
				if d[k] != v {
					t.Errorf("%s = %v, want %q", k, d[k], v)
				}
			}
			if status, keys := f.getJSON(d["jwks_uri"].(string)); status != http.StatusOK || keys["keys"] == nil {
				t.Errorf("jwks_uri: %d %v", status, keys)
			}
		})
	}
	// go-oidc accepts the document from the tenant-ID host, which stands
	// for the issuer's.
	ctx := oidc.InsecureIssuerURLContext(oidc.ClientContext(t.Context(), tlsClient(t, s)), s.ExternalIDIssuer())
	if _, err := oidc.NewProvider(ctx, "https://"+s.TenantIDHost()+"/"+xTenantID+"/v2.0"); err != nil {
		t.Errorf("go-oidc discovery from the tenant-ID host: %v", err)
	}
}

func TestExternalIDServesNoPolicyPaths(t *testing.T) {
	s, _, f := startExternalID(t)
	resp, _ := f.get("https://" + s.TLSHost() + "/contoso.onmicrosoft.com/b2c_1_signupsignin1/v2.0/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("B2C policy path: status %d, want 404", resp.StatusCode)
	}
	resp, page := f.get(s.BrowserURL() + "/fabrikam.onmicrosoft.com/oauth2/v2.0/authorize")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(page), "AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' not found.") {
		t.Errorf("another tenant's authorize: %d\n%s", resp.StatusCode, page)
	}
}

func TestExternalIDIDTokenClaims(t *testing.T) {
	// MSAL Go sends openid, offline_access and profile with every request.
	t.Run("MSAL's scopes", func(t *testing.T) {
		s, _, f := startExternalID(t)
		body := f.redeem("", "openid offline_access profile", "nonce-1", abe)
		c := claimsOf(t, s, body["id_token"])
		want := map[string]any{"iss": s.ExternalIDIssuer(), "aud": xClientID, "ver": "2.0", "tid": xTenantID, "oid": abe.ObjectID,
			"name": abe.Name, "preferred_username": abe.Email, "nonce": "nonce-1"}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("%s = %v, want %v", k, c[k], v)
			}
		}
		for _, k := range []string{"exp", "iat", "nbf", "sub"} {
			if c[k] == nil {
				t.Errorf("%s is missing", k)
			}
		}
		for _, k := range []string{"email", "tfp", "acr", "emails", "auth_time", "newUser"} {
			if v, ok := c[k]; ok {
				t.Errorf("%s = %v, want none", k, v)
			}
		}
		if sub, _ := c["sub"].(string); sub == abe.ObjectID || len(sub) != 43 {
			t.Errorf("sub = %q, want a pairwise 43-character identifier, not the object ID", sub)
		}
		// go-oidc verifies it against the issuer, as the app does.
		ctx := oidc.ClientContext(t.Context(), tlsClient(t, s))
		keys := oidc.NewRemoteKeySet(ctx, s.ExternalIDAuthority(true)+"/discovery/v2.0/keys")
		if _, err := oidc.NewVerifier(s.ExternalIDIssuer(), keys, &oidc.Config{ClientID: xClientID, Now: s.now}).Verify(ctx, body["id_token"].(string)); err != nil {
			t.Errorf("go-oidc: %v", err)
		}
	})
	t.Run("email scope", func(t *testing.T) {
		s, _, f := startExternalID(t)
		c := claimsOf(t, s, f.redeem("", "openid profile email", "n", abe)["id_token"])
		if c["email"] != abe.Email {
			t.Errorf("email = %v, want %q", c["email"], abe.Email)
		}
	})
	t.Run("email scope, user without an email", func(t *testing.T) {
		nomail := User{ObjectID: "c0ffee00-0000-4000-8000-000000000003", Name: "No Mail"}
		s, _, f := startExternalID(t, func(c *Config) { c.Users = append(c.Users, nomail) })
		c := claimsOf(t, s, f.redeem("", "openid profile email", "n", nomail)["id_token"])
		for _, k := range []string{"email", "preferred_username"} {
			if v, ok := c[k]; ok {
				t.Errorf("%s = %v, want none", k, v)
			}
		}
	})
	t.Run("no profile scope", func(t *testing.T) {
		s, _, f := startExternalID(t)
		c := claimsOf(t, s, f.redeem("", "openid", "n", abe)["id_token"])
		for _, k := range []string{"oid", "name", "preferred_username"} {
			if v, ok := c[k]; ok {
				t.Errorf("%s = %v without the profile scope, want none", k, v)
			}
		}
		if c["tid"] != xTenantID || c["sub"] == nil {
			t.Errorf("tid = %v, sub = %v", c["tid"], c["sub"])
		}
	})
	t.Run("pairwise subject", func(t *testing.T) {
		other := Client{ID: "11112222-bbbb-3333-cccc-4444dddd5555", Secret: "s2", RedirectURIs: []string{xRedirect}}
		s, _, f := startExternalID(t, func(c *Config) { c.Clients = append(c.Clients, other) })
		sub := func(f *flow) any { return claimsOf(t, s, f.redeem("", "openid profile", "n", abe)["id_token"])["sub"] }
		first, again, elsewhere := sub(f), sub(f), sub(newFlow(t, s, other))
		if first != again {
			t.Errorf("sub changed between sign-ins: %v, %v", first, again)
		}
		if first == elsewhere {
			t.Errorf("two apps got the same sub %v", first)
		}
	})
}

func TestExternalIDAccessToken(t *testing.T) {
	for _, scope := range []string{xAPIRead, xAPIClientID + "/ToDoList.Read"} {
		t.Run(scope, func(t *testing.T) {
			s, _, f := startExternalID(t)
			body := f.redeem("", "openid offline_access profile "+scope, "n", abe)
			if body["scope"] != scope {
				t.Errorf("scope = %v, want %q", body["scope"], scope)
			}
			c := claimsOf(t, s, body["access_token"])
			want := map[string]any{"iss": s.ExternalIDIssuer(), "aud": xAPIClientID, "azp": xClientID, "azpacr": "1", "scp": "ToDoList.Read",
				"tid": xTenantID, "oid": abe.ObjectID, "ver": "2.0", "name": abe.Name}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			for _, k := range []string{"tfp", "acr", "nonce"} {
				if v, ok := c[k]; ok {
					t.Errorf("%s = %v, want none", k, v)
				}
			}
			idSub := claimsOf(t, s, body["id_token"])["sub"]
			if c["sub"] == idSub || c["sub"] == abe.ObjectID {
				t.Errorf("access token sub %v: want the API's pairwise subject, not the app's (%v) or the object ID", c["sub"], idSub)
			}
			// The API stand-in wants every scope it defines: the token is
			// its own, but one scope short.
			if status, api := callAPIJSON(t, s, body["access_token"].(string)); status != http.StatusForbidden || api["error"] != "insufficient_scope" {
				t.Errorf("API: %d %v, want insufficient_scope", status, api)
			}
		})
	}
	t.Run("both scopes", func(t *testing.T) {
		s, _, f := startExternalID(t)
		body := f.redeem("", "openid offline_access profile "+xAPIRead+" "+xAPIWrite, "n", abe)
		if c := claimsOf(t, s, body["access_token"]); c["scp"] != "ToDoList.Read ToDoList.ReadWrite" {
			t.Errorf("scp = %v", c["scp"])
		}
		status, api := callAPIJSON(t, s, body["access_token"].(string))
		if status != http.StatusOK || api["name"] != abe.Name || api["oid"] != abe.ObjectID {
			t.Errorf("API: %d %v", status, api)
		}
	})
}

func callAPIJSON(t *testing.T, s *Server, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.APIURL(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestExternalIDSignInOnlyScopes: with the OpenID Connect scopes alone, the
// token response still holds an access token, for Microsoft Graph's UserInfo
// endpoint (scopes-oidc.md), opaque, and the API stand-in refuses it; the
// app's own client ID, B2C's sign-in-only scope, is an invalid scope.
func TestExternalIDSignInOnlyScopes(t *testing.T) {
	t.Run("openid offline_access", func(t *testing.T) {
		s, _, f := startExternalID(t)
		code, verifier := f.signIn("", "openid offline_access", "n", abe)
		form := f.codeForm(code, verifier)
		form.Set("scope", "openid offline_access profile") // as MSAL Go sends it
		status, body := f.post("", form)
		if status != http.StatusOK {
			t.Fatalf("token: %d %v", status, body)
		}
		at, _ := body["access_token"].(string)
		if at == "" || strings.Contains(at, ".") {
			t.Errorf("access_token = %q, want an opaque token", at)
		}
		if body["scope"] != "openid profile" || body["id_token"] == nil || body["refresh_token"] == nil {
			t.Errorf("response = %v, want scope \"openid profile\", an ID token and a refresh token", body)
		}
		if status, _ := callAPIJSON(t, s, at); status != http.StatusUnauthorized {
			t.Errorf("the API accepted the Graph token: %d", status)
		}
		status, body = f.post("", f.refreshForm(body["refresh_token"].(string), "openid offline_access profile"))
		if status != http.StatusOK || body["access_token"] == nil || body["scope"] != "openid profile" {
			t.Errorf("refresh: %d %v", status, body)
		}
	})
	t.Run("the app's own client ID at the token endpoint", func(t *testing.T) {
		_, _, f := startExternalID(t)
		code, verifier := f.signIn("", "openid offline_access", "n", abe)
		form := f.codeForm(code, verifier)
		form.Set("scope", "openid offline_access profile "+xClientID)
		status, body := f.post("", form)
		if desc, _ := body["error_description"].(string); status != http.StatusBadRequest || body["error"] != "invalid_scope" || !strings.HasPrefix(desc, "AADSTS70011: ") {
			t.Errorf("token: %d %v, want invalid_scope AADSTS70011", status, body)
		}
	})
}

func TestExternalIDTokenResponse(t *testing.T) {
	_, _, f := startExternalID(t)
	body := f.redeem("", "openid offline_access profile "+xAPIRead, "n", abe)
	if _, ok := body["expires_in"].(float64); !ok {
		t.Errorf("expires_in = %#v, want a JSON number", body["expires_in"])
	}
	raw, _ := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
	var info map[string]string
	if err := json.Unmarshal(raw, &info); err != nil || info["uid"] != abe.ObjectID || info["utid"] != xTenantID || len(info) != 2 {
		t.Errorf("client_info = %s (%v), want uid the object ID and utid the tenant ID", raw, err)
	}
}

func TestExternalIDRefresh(t *testing.T) {
	s, clk, f := startExternalID(t)
	first := f.redeem("", "openid offline_access profile "+xAPIRead, "n", abe)
	clk.Add(time.Minute)
	status, second := f.post("", f.refreshForm(first["refresh_token"].(string), "openid offline_access profile "+xAPIWrite))
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, second)
	}
	// "Refresh tokens are valid for all permissions that your client has
	// already received consent for."
	if c := claimsOf(t, s, second["access_token"]); c["scp"] != "ToDoList.ReadWrite" {
		t.Errorf("scp = %v, want the scope of the refresh request", c["scp"])
	}
	if c := claimsOf(t, s, second["id_token"]); c["nonce"] != nil || c["oid"] != abe.ObjectID {
		t.Errorf("refreshed ID token: nonce %v oid %v", c["nonce"], c["oid"])
	}
	if second["refresh_token"] == first["refresh_token"] {
		t.Error("the refresh token was not rotated")
	}
	// "The Microsoft identity platform doesn't revoke old refresh tokens when
	// used to fetch new access tokens." (refresh-tokens.md)
	if status, body := f.post("", f.refreshForm(first["refresh_token"].(string), "")); status != http.StatusOK {
		t.Errorf("the rotated refresh token: %d %v", status, body)
	}
	clk.Add(90 * 24 * time.Hour)
	status, body := f.post("", f.refreshForm(second["refresh_token"].(string), ""))
	if desc, _ := body["error_description"].(string); status != http.StatusBadRequest || !strings.HasPrefix(desc, "AADSTS70008: ") {
		t.Errorf("after 90 days: %d %v, want AADSTS70008", status, body)
	}
}

func TestExternalIDForgotPassword(t *testing.T) {
	s, _, f := startExternalID(t)
	_, page, verifier := f.authorize("", "openid profile", "n", "st")
	if !strings.Contains(page, ">Forgot password?</button>") {
		t.Fatalf("no Forgot password? on the sign-in page:\n%s", page)
	}
	resp, page := f.click(page, "forgot-password", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("forgot: %d %s", resp.StatusCode, page)
	}
	resp, _ = f.click(page, "reset-"+abe.ObjectID, url.Values{"new-password": {"new-pw"}})
	q := f.back(resp)
	if q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("after the reset: %v, want a code (the reset is inside the flow)", q)
	}
	if status, body := f.post("", f.codeForm(q.Get("code"), verifier)); status != http.StatusOK {
		t.Errorf("token: %d %v", status, body)
	}
	if u, _ := s.user(abe.ObjectID); u.Password != "new-pw" {
		t.Errorf("password = %q, want the new one", u.Password)
	}
	_, page, _ = f.authorize("", "openid profile", "n", "st")
	resp, _ = f.click(page, "sign-in", url.Values{"email": {abe.Email}, "password": {"new-pw"}})
	if q := f.back(resp); q.Get("code") == "" {
		t.Errorf("sign-in with the new password: %v", q)
	}
}

func TestExternalIDSignUp(t *testing.T) {
	s, _, f := startExternalID(t)
	_, page, verifier := f.authorize("", "openid profile", "n", "st")
	resp, _ := f.click(page, "signup", url.Values{"signup-name": {"Carol New"}, "signup-email": {"carol@example.com"}})
	q := f.back(resp)
	status, body := f.post("", f.codeForm(q.Get("code"), verifier))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	if c := claimsOf(t, s, body["id_token"]); c["name"] != "Carol New" || c["preferred_username"] != "carol@example.com" || c["newUser"] != nil {
		t.Errorf("claims = %v", c)
	}
}

func TestExternalIDNamedFlow(t *testing.T) {
	_, _, f := startExternalID(t, func(c *Config) {
		c.Policies = []Policy{{Name: "B2C_1_profileediting1", Kind: ProfileEdit}, {Name: "SignUpSignInFlow", Kind: SignUpSignInWithReset}}
	})
	_, page, _ := f.authorize("", "openid", "n", "st")
	if !strings.Contains(page, "SignUpSignInFlow") || strings.Contains(page, "profileediting") {
		t.Errorf("the page does not show the application's user flow:\n%s", page)
	}
}

func TestExternalIDLogout(t *testing.T) {
	_, _, f := startExternalID(t)
	hint := f.redeem("", "openid profile", "n", abe)["id_token"].(string)
	logout := func(method string, v url.Values) (*http.Response, string) {
		t.Helper()
		u := f.pages + "/" + xTenantID + "/oauth2/v2.0/logout"
		if method == http.MethodGet {
			return f.get(u + "?" + v.Encode())
		}
		resp, err := f.http.PostForm(u, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp, ""
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			resp, _ := logout(method, url.Values{"post_logout_redirect_uri": {xLogoutURI}, "id_token_hint": {hint}, "state": {"s1"}})
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != xLogoutURI+"?state=s1" {
				t.Errorf("registered URI: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	for name, v := range map[string]url.Values{
		"no post_logout_redirect_uri": {"id_token_hint": {hint}},
		"URI not registered":          {"post_logout_redirect_uri": {"http://localhost/elsewhere"}},
		"URI of the origin only":      {"post_logout_redirect_uri": {"http://localhost"}, "id_token_hint": {hint}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, page := logout(http.MethodGet, v)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You signed out of your account") {
				t.Errorf("%d, want the generic signed-out page:\n%s", resp.StatusCode, page)
			}
		})
	}
	t.Run("URI of another application than the hint's", func(t *testing.T) {
		other := Client{ID: "11112222-bbbb-3333-cccc-4444dddd5555", Secret: "s2", RedirectURIs: []string{"http://localhost:9999/signout"}}
		_, _, f := startExternalID(t, func(c *Config) { c.Clients = append(c.Clients, other) })
		hint := f.redeem("", "openid", "n", abe)["id_token"].(string)
		v := url.Values{"post_logout_redirect_uri": {"http://localhost:9999/signout"}, "id_token_hint": {hint}}
		resp, _ := f.get(f.pages + "/" + xTenantPath + "/oauth2/v2.0/logout?" + v.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want the signed-out page without a redirect", resp.StatusCode)
		}
	})
}

// TestExternalIDMSAL drives MSAL Go: through either host, MSAL refuses the
// discovery document, whose issuer is on {tenant ID}.ciamlogin.com, as it
// refuses Azure's (MSAL Go's ValidateIssuerMatchesAuthority).
func TestExternalIDMSAL(t *testing.T) {
	s, _, _ := startExternalID(t)
	httpClient := tlsClient(t, s)
	cred, err := confidential.NewCredFromSecret(xClient.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, authority := range []string{s.ExternalIDAuthority(false), "https://" + s.TenantIDHost() + "/" + xTenantID} {
		t.Run(authority, func(t *testing.T) {
			app, err := confidential.New(authority, xClientID, cred, confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(httpClient))
			if err != nil {
				t.Fatal(err)
			}
			_, err = app.AuthCodeURL(t.Context(), xClientID, xRedirect, []string{"openid", "offline_access", xAPIRead, xAPIWrite})
			if err == nil || !strings.Contains(err.Error(), "does not match authority") {
				t.Errorf("AuthCodeURL = %v, want MSAL's issuer mismatch", err)
			}
		})
	}
}

func TestExternalIDStartErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no flow of kind SignUpSignInWithReset": {Tenant: "contoso", ExternalID: true, Policies: []Policy{{Name: "B2C_1_susi", Kind: SignUpSignIn}}},
		"custom domain":                         {Tenant: "contoso", ExternalID: true, CustomDomain: "127.0.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			wantStartError(t, cfg)
		})
	}
}

func TestExternalIDRequestLog(t *testing.T) {
	s, _, f := startExternalID(t)
	f.redeem("", "openid", "n", abe)
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Endpoint+" "+r.Policy+" "+r.GrantType+" "+r.ClientID)
	}
	want := []string{"authorize   " + xClientID, "login   ", "token  authorization_code " + xClientID}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("request log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestExternalIDBreakNextTokenResponse: the unparsable response of
// BreakNextTokenResponse works in External ID mode too.
func TestExternalIDBreakNextTokenResponse(t *testing.T) {
	s, _, f := startExternalID(t)
	code, verifier := f.signIn("", "openid", "n", abe)
	s.BreakNextTokenResponse()
	status, body := f.post("", f.codeForm(code, verifier))
	if _, isObject := body["expires_in"].(map[string]any); status != http.StatusOK || !isObject || body["refresh_token"] == nil || body["id_token"] == nil {
		t.Errorf("broken response: %d %v", status, body)
	}
}
