package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		edit   func(url.Values)
		before func(*testing.T, *Server, *testenv.Clock, url.Values) // runs after the sign-in, before the request
		status int
		error  string
		inDesc string
	}{
		{name: "wrong secret", edit: func(f url.Values) { f.Set("client_secret", "nope") }, status: 401, error: "invalid_client", inDesc: "AADB2C90081"},
		{name: "no secret", edit: func(f url.Values) { f.Del("client_secret") }, status: 401, error: "invalid_client", inDesc: "AADB2C90079"},
		{name: "unknown client", edit: func(f url.Values) { f.Set("client_id", "nope") }, status: 401, error: "invalid_client", inDesc: "AADB2C90018"},
		{name: "no grant_type", edit: func(f url.Values) { f.Del("grant_type") }, status: 400, error: "invalid_request", inDesc: "AADB2C90083"},
		{name: "client_credentials", edit: func(f url.Values) { f.Set("grant_type", "client_credentials") }, status: 400, error: "unsupported_grant_type", inDesc: "AADB2C90086"},
		{name: "unknown code", edit: func(f url.Values) { f.Set("code", "nope") }, status: 400, error: "invalid_grant"},
		{name: "wrong redirect_uri", edit: func(f url.Values) { f.Set("redirect_uri", "http://localhost:7071/other") }, status: 400, error: "redirect_uri_mismatch", inDesc: "AADB2C90006"},
		{name: "no code_verifier", edit: func(f url.Values) { f.Del("code_verifier") }, status: 400, error: "invalid_request", inDesc: "code_verifier"},
		{name: "PKCE mismatch", edit: func(f url.Values) { f.Set("code_verifier", strings.Repeat("w", 43)) }, status: 400, error: "invalid_grant", inDesc: "AADB2C90182"},
		{name: "malformed verifier", edit: func(f url.Values) { f.Set("code_verifier", "short") }, status: 400, error: "invalid_grant", inDesc: "AADB2C90183"},
		{name: "other policy", policy: editPolicy, status: 400, error: "invalid_grant", inDesc: "AADB2C90088"},
		{name: "expired code", status: 400, error: "invalid_grant", inDesc: "AADB2C90080",
			before: func(t *testing.T, s *Server, c *testenv.Clock, f url.Values) { c.Add(codeLifetime) }},
		{name: "code used twice", status: 400, error: "invalid_grant", inDesc: "AADB2C90129",
			before: func(t *testing.T, s *Server, c *testenv.Clock, f url.Values) {
				if status, body := postToken(t, s, susi, f); status != http.StatusOK {
					t.Fatalf("first use: %d %v", status, body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := startServer(t)
			code, verifier := signIn(t, s, susi, "openid offline_access "+apiScope, "user-"+alice.ObjectID)
			f := codeForm(code, verifier)
			if tt.before != nil {
				tt.before(t, s, clk, f)
			}
			if tt.edit != nil {
				tt.edit(f)
			}
			policy := susi
			if tt.policy != "" {
				policy = tt.policy
			}
			status, body := postToken(t, s, policy, f)
			desc, _ := body["error_description"].(string)
			if status != tt.status || body["error"] != tt.error || !strings.Contains(desc, tt.inDesc) {
				t.Errorf("got %d %v, want %d %q with %q", status, body, tt.status, tt.error, tt.inDesc)
			}
			if !strings.Contains(desc, "\r\nCorrelation ID: ") {
				t.Errorf("description %q lacks B2C's correlation ID", desc)
			}
		})
	}
}

func TestCodeUsedTwiceRevokesItsTokens(t *testing.T) {
	s, _ := startServer(t)
	code, verifier := signIn(t, s, susi, "openid offline_access "+apiScope, "user-"+alice.ObjectID)
	_, first := postToken(t, s, susi, codeForm(code, verifier))
	postToken(t, s, susi, codeForm(code, verifier))
	if status, body := postToken(t, s, susi, refreshForm(first["refresh_token"].(string), apiScope)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after code replay: %d %v, want invalid_grant", status, body)
	}
}

func TestBasicClientAuth(t *testing.T) {
	s, _ := startServer(t)
	code, verifier := signIn(t, s, susi, "openid "+apiScope, "user-"+alice.ObjectID)
	f := codeForm(code, verifier)
	f.Del("client_id")
	f.Del("client_secret")
	req, _ := http.NewRequest("POST", "https://"+s.TLSHost()+"/contoso.onmicrosoft.com/"+susi+"/oauth2/v2.0/token", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := tlsClient(t, s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got := s.Requests()[len(s.Requests())-1].ClientID; got != clientID {
		t.Errorf("logged client ID = %q", got)
	}
}

func TestTokenResponseShape(t *testing.T) {
	tests := []struct {
		scope               string
		access, id, refresh bool
		aud, granted        string
	}{
		{"openid offline_access " + apiScope, true, true, true, apiClientID, apiScope + " openid offline_access"},
		{"openid profile " + apiScope, true, true, false, apiClientID, apiScope + " openid"},
		{"openid offline_access", false, true, true, "", "openid offline_access"},
		{"openid offline_access " + clientID, true, true, true, clientID, clientID + " openid offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			s, clk := startServer(t)
			body := redeem(t, s, susi, tt.scope)
			for field, want := range map[string]bool{"access_token": tt.access, "expires_in": tt.access, "id_token": tt.id, "id_token_expires_in": tt.id, "refresh_token": tt.refresh, "refresh_token_expires_in": tt.refresh} {
				if _, has := body[field]; has != want {
					t.Errorf("has %s = %v, want %v", field, has, want)
				}
			}
			if body["scope"] != tt.granted || body["token_type"] != "Bearer" {
				t.Errorf("scope %q token_type %q, want %q Bearer", body["scope"], body["token_type"], tt.granted)
			}
			// B2C sends times as strings.
			for _, field := range []string{"expires_in", "not_before", "id_token_expires_in", "refresh_token_expires_in"} {
				if v, has := body[field]; has {
					if _, ok := v.(string); !ok {
						t.Errorf("%s = %#v, want a string", field, v)
					}
				}
			}
			if body["not_before"] != strconv.FormatInt(clk.Now().Unix(), 10) {
				t.Errorf("not_before = %v", body["not_before"])
			}
			var info map[string]string
			b, _ := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
			if err := json.Unmarshal(b, &info); err != nil || info["uid"] != alice.ObjectID+"-b2c_1_signupsignin1" || info["utid"] != s.TenantID() {
				t.Errorf("client_info = %s (%v)", b, err)
			}

			id := claimsOf(t, s, body["id_token"])
			now := float64(clk.Now().Unix())
			wantID := map[string]any{"iss": s.Issuer(), "sub": alice.ObjectID, "oid": alice.ObjectID, "aud": clientID, "nonce": "nonce-456",
				"ver": "1.0", "tfp": susi, "name": alice.Name, "given_name": "Alice", "family_name": "Example",
				"iat": now, "nbf": now, "auth_time": now, "exp": now + 3600}
			for k, want := range wantID {
				if id[k] != want {
					t.Errorf("id_token %s = %v, want %v", k, id[k], want)
				}
			}
			if _, has := id["newUser"]; has {
				t.Error("id_token has newUser for an existing user")
			}
			if !tt.access {
				return
			}
			at := claimsOf(t, s, body["access_token"])
			wantAT := map[string]any{"iss": s.Issuer(), "aud": tt.aud, "sub": alice.ObjectID, "oid": alice.ObjectID, "azp": clientID, "tfp": susi, "ver": "1.0", "exp": now + 3600}
			if tt.aud == apiClientID {
				wantAT["scp"] = "tasks.read"
			}
			for k, want := range wantAT {
				if at[k] != want {
					t.Errorf("access_token %s = %v, want %v", k, at[k], want)
				}
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	for _, reuseDetection := range []bool{false, true} {
		t.Run("reuse detection "+strconv.FormatBool(reuseDetection), func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) { c.RefreshTokenReuseDetection = reuseDetection })
			first := redeem(t, s, susi, "openid offline_access "+apiScope)["refresh_token"].(string)

			status, body := postToken(t, s, susi, refreshForm(first, "openid offline_access profile "+apiScope))
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, body)
			}
			second, _ := body["refresh_token"].(string)
			if second == "" || second == first {
				t.Fatalf("refresh token not rotated: %q", second)
			}
			if c := claimsOf(t, s, body["id_token"]); c["nonce"] != nil || c["oid"] != alice.ObjectID {
				t.Errorf("refreshed id_token claims = %v, want no nonce", c)
			}

			status, body = postToken(t, s, susi, refreshForm(first, apiScope))
			if reuseDetection {
				if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
					t.Fatalf("replayed refresh token: %d %v, want invalid_grant", status, body)
				}
				// The whole family is revoked, the newest token too.
				if status, body := postToken(t, s, susi, refreshForm(second, apiScope)); status != http.StatusBadRequest || !strings.Contains(body["error_description"].(string), "AADB2C90129") {
					t.Errorf("refresh token after replay: %d %v, want AADB2C90129", status, body)
				}
				return
			}
			if status != http.StatusOK {
				t.Fatalf("old refresh token without reuse detection: %d %v", status, body)
			}
			if _, has := body["id_token"]; has {
				t.Error("id_token returned without openid in the refresh scope")
			}
			if status, _ := postToken(t, s, susi, refreshForm(second, apiScope)); status != http.StatusOK {
				t.Errorf("newest refresh token: %d", status)
			}
		})
	}
}

func TestRefreshErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		form   func(rt string) url.Values
		before func(*testenv.Clock)
		inDesc string
	}{
		{name: "other policy", policy: editPolicy, form: func(rt string) url.Values { return refreshForm(rt, apiScope) }, inDesc: "AADB2C90088"},
		{name: "expired", form: func(rt string) url.Values { return refreshForm(rt, apiScope) }, before: func(c *testenv.Clock) { c.Add(14 * 24 * time.Hour) }, inDesc: "AADB2C90080"},
		{name: "unknown", form: func(string) url.Values { return refreshForm("nope", apiScope) }, inDesc: "AADB2C90090"},
		{name: "unknown scope", form: func(rt string) url.Values { return refreshForm(rt, apiURI+"/tasks.write") }, inDesc: "AADB2C90117"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := startServer(t)
			rt := redeem(t, s, susi, "openid offline_access "+apiScope)["refresh_token"].(string)
			if tt.before != nil {
				tt.before(clk)
			}
			policy := susi
			if tt.policy != "" {
				policy = tt.policy
			}
			status, body := postToken(t, s, policy, tt.form(rt))
			if status != http.StatusBadRequest || !strings.Contains(body["error_description"].(string), tt.inDesc) {
				t.Errorf("got %d %v, want 400 with %q", status, body, tt.inDesc)
			}
		})
	}
}

func TestClockMovesExpiry(t *testing.T) {
	s, clk := startServer(t, func(c *Config) { c.AccessTokenLifetime = 301 * time.Second })
	body := redeem(t, s, susi, "openid offline_access "+apiScope)
	start := clk.Now().Unix()
	if exp := claimsOf(t, s, body["access_token"])["exp"]; exp != float64(start+301) || body["expires_in"] != "301" {
		t.Errorf("exp = %v, expires_in = %v, want %d and 301", exp, body["expires_in"], start+301)
	}
	clk.Add(2 * time.Hour)
	_, body = postToken(t, s, susi, refreshForm(body["refresh_token"].(string), apiScope))
	if exp := claimsOf(t, s, body["access_token"])["exp"]; exp != float64(start+7200+301) {
		t.Errorf("exp after 2h = %v, want %d", exp, start+7200+301)
	}
}
