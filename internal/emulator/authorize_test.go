package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAuthorizeErrors(t *testing.T) {
	s, _ := startServer(t)
	tests := []struct {
		name   string
		edit   func(url.Values)
		status int    // 400: a page; 302: back to the app
		error  string // the error sent back to the app
		inDesc string
	}{
		{"no client_id", func(v url.Values) { v.Del("client_id") }, 400, "", "AADB2C90008"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, 400, "", "AADB2C90018"},
		{"unregistered redirect_uri", func(v url.Values) { v.Set("redirect_uri", "http://localhost:7071/other") }, 400, "", "AADB2C90006"},
		{"redirect_uri prefix", func(v url.Values) { v.Set("redirect_uri", redirectURI+"/x") }, 400, "", "AADB2C90006"},
		{"response_type token", func(v url.Values) { v.Set("response_type", "token") }, 302, "unsupported_response_type", "AADB2C90013"},
		{"response_mode form_post", func(v url.Values) { v.Set("response_mode", "form_post") }, 302, "invalid_request", "AADB2C90014"},
		{"no scope", func(v url.Values) { v.Del("scope") }, 302, "invalid_request", "AADB2C90010"},
		{"no openid", func(v url.Values) { v.Set("scope", "offline_access "+apiScope) }, 302, "invalid_request", "openid"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "openid https://contoso.onmicrosoft.com/tasks-api/tasks.write") }, 302, "invalid_scope", "AADB2C90117"},
		{"two resources", func(v url.Values) { v.Set("scope", "openid "+clientID+" "+apiScope) }, 302, "invalid_scope", "AADB2C90146"},
		{"no state", func(v url.Values) { v.Del("state") }, 302, "invalid_request", "state"},
		{"no nonce", func(v url.Values) { v.Del("nonce") }, 302, "invalid_request", "nonce"},
		{"no code_challenge", func(v url.Values) { v.Del("code_challenge") }, 302, "invalid_request", "AADB2C99059"},
		{"plain challenge", func(v url.Values) { v.Set("code_challenge_method", "plain") }, 302, "invalid_request", "code_challenge_method"},
		{"no challenge method", func(v url.Values) { v.Del("code_challenge_method") }, 302, "invalid_request", "code_challenge_method"},
		{"short challenge", func(v url.Values) { v.Set("code_challenge", "abc") }, 302, "invalid_request", "code_challenge"},
		{"prompt none", func(v url.Values) { v.Set("prompt", "none") }, 302, "login_required", "AADB2C90077"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := authParams("openid offline_access " + apiScope)
			tt.edit(v)
			resp, body := get(t, authorizeURL(s, susi, v))
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == http.StatusBadRequest {
				if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				if !strings.Contains(body, tt.inDesc) {
					t.Errorf("page lacks %q:\n%s", tt.inDesc, body)
				}
				return
			}
			q := redirectParams(t, resp)
			if q.Get("error") != tt.error || !strings.Contains(q.Get("error_description"), tt.inDesc) {
				t.Errorf("error = %q %q, want %q with %q", q.Get("error"), q.Get("error_description"), tt.error, tt.inDesc)
			}
			if q.Get("state") != v.Get("state") {
				t.Errorf("state = %q, want %q", q.Get("state"), v.Get("state"))
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	s, _ := startServer(t)
	tests := []struct {
		policy      string
		has, hasNot []string
	}{
		{susi, []string{"user-" + alice.ObjectID, "user-" + bob.ObjectID, `id="sign-in"`, `id="signup"`, `id="forgot-password"`, `id="cancel"`}, nil},
		{susiReset, []string{"user-" + alice.ObjectID, `id="signup"`, `id="forgot-password"`, `id="cancel"`}, nil},
		{editPolicy, []string{"user-" + alice.ObjectID, `id="sign-in"`, `id="cancel"`}, []string{`id="signup"`, `id="forgot-password"`}},
		{resetFlow, []string{"reset-" + alice.ObjectID, `id="new-password"`, `id="cancel"`}, []string{"user-" + alice.ObjectID}},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			v, _ := authParams("openid")
			resp, page := get(t, authorizeURL(s, strings.ToLower(tt.policy), v))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.Contains(page, "<title>") || !strings.Contains(page, tt.policy+"</title>") {
				t.Errorf("title lacks the policy name %q", tt.policy)
			}
			for _, want := range tt.has {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, unwanted := range tt.hasNot {
				if strings.Contains(page, unwanted) {
					t.Errorf("page has %q", unwanted)
				}
			}
		})
	}
}

func TestUserFlows(t *testing.T) {
	s, _ := startServer(t)

	t.Run("sign-in forgot password", func(t *testing.T) {
		v, _ := authParams("openid")
		_, page := get(t, authorizeURL(s, susi, v))
		resp, _ := click(t, s, page, "forgot-password", nil)
		q := redirectParams(t, resp)
		if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADB2C90118: The user has forgotten their password.") || q.Get("state") != "state-123" {
			t.Errorf("redirect query = %v", q)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		for _, policy := range []string{susi, susiReset, editPolicy, resetFlow} {
			v, _ := authParams("openid")
			_, page := get(t, authorizeURL(s, policy, v))
			resp, _ := click(t, s, page, "cancel", nil)
			q := redirectParams(t, resp)
			if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADB2C90091: The user has cancelled entering self-asserted information.") {
				t.Errorf("%s: redirect query = %v", policy, q)
			}
		}
	})

	t.Run("embedded reset never sends AADB2C90118", func(t *testing.T) {
		code, verifier := signIn(t, s, susiReset, "openid", "forgot-password", "reset-"+bob.ObjectID)
		_, body := postToken(t, s, susiReset, codeForm(code, verifier))
		if c := claimsOf(t, s, body["id_token"]); c["oid"] != bob.ObjectID || c["tfp"] != susiReset {
			t.Errorf("claims = %v", c)
		}
	})

	t.Run("password", func(t *testing.T) {
		v, verifier := authParams("openid")
		_, page := get(t, authorizeURL(s, susi, v))
		resp, page := click(t, s, page, "sign-in", url.Values{"email": {"ALICE@example.com"}, "password": {"wrong"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Invalid username or password.") {
			t.Fatalf("wrong password: status %d, page:\n%s", resp.StatusCode, page)
		}
		resp, _ = click(t, s, page, "sign-in", url.Values{"email": {"alice@example.com"}, "password": {alice.Password}})
		q := redirectParams(t, resp)
		_, body := postToken(t, s, susi, codeForm(q.Get("code"), verifier))
		if c := claimsOf(t, s, body["id_token"]); c["oid"] != alice.ObjectID {
			t.Errorf("claims = %v", c)
		}
	})

	t.Run("password reset then sign in with the new password", func(t *testing.T) {
		v, verifier := authParams("openid")
		_, page := get(t, authorizeURL(s, resetFlow, v))
		resp, _ := click(t, s, page, "reset-"+bob.ObjectID, url.Values{"new-password": {"new-pw"}})
		q := redirectParams(t, resp)
		_, body := postToken(t, s, resetFlow, codeForm(q.Get("code"), verifier))
		if c := claimsOf(t, s, body["id_token"]); c["oid"] != bob.ObjectID || c["tfp"] != resetFlow {
			t.Errorf("claims = %v", c)
		}
		v, _ = authParams("openid")
		_, page = get(t, authorizeURL(s, susi, v))
		resp, _ = click(t, s, page, "sign-in", url.Values{"email": {bob.Email}, "password": {"new-pw"}})
		redirectParams(t, resp)
	})

	t.Run("profile edit", func(t *testing.T) {
		v, verifier := authParams("openid offline_access")
		_, page := get(t, authorizeURL(s, editPolicy, v))
		_, page = click(t, s, page, "user-"+alice.ObjectID, nil)
		for _, id := range []string{`id="given-name"`, `id="family-name"`, `id="name"`, `value="Alice Example"`} {
			if !strings.Contains(page, id) {
				t.Fatalf("profile form lacks %q:\n%s", id, page)
			}
		}
		resp, _ := click(t, s, page, "continue", url.Values{"name": {"Alice Edited"}, "given-name": {"Ally"}, "family-name": {"Edited"}})
		q := redirectParams(t, resp)
		_, body := postToken(t, s, editPolicy, codeForm(q.Get("code"), verifier))
		c := claimsOf(t, s, body["id_token"])
		if c["name"] != "Alice Edited" || c["given_name"] != "Ally" || c["family_name"] != "Edited" || c["tfp"] != editPolicy {
			t.Errorf("claims = %v", c)
		}
		if i := slices.IndexFunc(s.Users(), func(u User) bool { return u.ObjectID == alice.ObjectID }); s.Users()[i].Name != "Alice Edited" {
			t.Errorf("stored user = %+v", s.Users()[i])
		}
	})

	t.Run("sign up", func(t *testing.T) {
		v, verifier := authParams("openid")
		_, page := get(t, authorizeURL(s, susi, v))
		resp, _ := click(t, s, page, "signup", url.Values{"signup-name": {"Carol New"}, "signup-email": {"carol@example.com"}})
		q := redirectParams(t, resp)
		_, body := postToken(t, s, susi, codeForm(q.Get("code"), verifier))
		c := claimsOf(t, s, body["id_token"])
		if c["newUser"] != true || c["name"] != "Carol New" || c["given_name"] != "Carol" || !slices.Equal(c["emails"].([]any), []any{"carol@example.com"}) {
			t.Errorf("claims = %v", c)
		}
		// Signing up again with the same email fails on the page.
		_, page = get(t, authorizeURL(s, susi, v))
		resp, page = click(t, s, page, "signup", url.Values{"signup-name": {"Carol Again"}, "signup-email": {"CAROL@example.com"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "already exists") {
			t.Errorf("second sign-up: status %d:\n%s", resp.StatusCode, page)
		}
	})

	t.Run("stale form", func(t *testing.T) {
		resp, err := browser.PostForm(s.BrowserURL()+"/contoso.onmicrosoft.com/"+susi+"/login", url.Values{"tx": {"gone"}, "action": {"cancel"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", resp.StatusCode)
		}
	})
}
