package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// authorizeAnswer is what an authorize request got, without following the
// sign-in page: the B2C code of an error page or of an error redirect.
type authorizeAnswer struct {
	status      int
	code        string // AADB2C… or AADSTS…
	error       string // the OAuth error of a redirect
	description string // its first line
}

// authorize sends an authorization request as the app does (code flow,
// PKCE S256, state and nonce) and reads the answer without following it.
func (d *doctor) authorize(ctx context.Context, m *metadata, redirectURI string, scopes []string) (authorizeAnswer, error) {
	sum := sha256.Sum256([]byte(verifier()))
	scope := append([]string{"openid", "offline_access"}, scopes...)
	if d.extID {
		scope = append(scope, "profile", "email")
	}
	q := url.Values{
		"client_id":             {d.cfg.ClientID},
		"response_type":         {"code"},
		"response_mode":         {"query"},
		"redirect_uri":          {redirectURI},
		"scope":                 {strings.Join(scope, " ")},
		"state":                 {rand.Text()},
		"nonce":                 {rand.Text()},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	u, err := url.Parse(m.AuthorizationEndpoint)
	if err != nil {
		return authorizeAnswer{}, err
	}
	v := u.Query()
	for k, vs := range q {
		v[k] = vs
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return authorizeAnswer{}, err
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return authorizeAnswer{}, transportCause(err)
	}
	defer resp.Body.Close()
	a := authorizeAnswer{status: resp.StatusCode}
	if loc, err := resp.Location(); err == nil {
		// An error sent back to the redirect URI, in the query or, for
		// some flows, the fragment.
		for _, raw := range []string{loc.RawQuery, loc.Fragment} {
			if p, err := url.ParseQuery(raw); err == nil && p.Get("error") != "" {
				a.error, a.description = p.Get("error"), firstLine(p.Get("error_description"))
				a.code = codeRE.FindString(a.description)
			}
		}
		return a, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if c := codeRE.Find(body); c != nil {
		a.code = string(c)
	}
	return a, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// checkRegistered checks that uri is a registered redirect URI of the app:
// an authorize request with it gets the sign-in page, not AADB2C90006. For
// the post-logout URI this is the rule B2C applies to a sign-out with
// id_token_hint, which the app sends: post_logout_redirect_uri must match
// one of the app's redirect URIs.
func (d *doctor) checkRegistered(ctx context.Context, m *metadata, name, uri, setting string) result {
	fix := "add " + uri + " to the app registration's Web redirect URIs (az ad app update --id " + d.cfg.ClientID +
		" --web-redirect-uris <every URI the app uses>: the list replaces the registered one), or correct " + setting
	a, err := d.authorize(ctx, m, uri, d.signInScopes())
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "authorize endpoint unreachable: %v", err)
	}
	switch {
	case a.code == "AADB2C90006" || a.code == "AADB2C90007" || a.code == "AADSTS50011" || a.error == "redirect_uri_mismatch":
		return failed(name, fix, "not registered for client ID %s (%s)", d.cfg.ClientID, orWord(a.code, a.error))
	case a.code == "AADB2C90018" || a.code == "AADSTS700016":
		return failed(name, "set "+auth.EnvClientID+" to the app registration's Application (client) ID", "the tenant does not know client ID %s (%s)", d.cfg.ClientID, a.code)
	case a.code != "" || a.error != "":
		return failed(name, "see the code in B2C's error codes reference", "the authorize endpoint answered %s %s", orWord(a.code, a.error), a.description)
	case a.status >= 400:
		return failed(name, "check "+auth.EnvTenantHost, "the authorize endpoint answered %d", a.status)
	}
	return ok(name, "registered (the authorize endpoint shows its sign-in page)")
}

// checkEndSession sends the browser's sign-out request without a hint: B2C
// then redirects whatever the registration says (the hint's rule is the
// authorize check above), so this only shows that the endpoint takes the
// URI.
func (d *doctor) checkEndSession(ctx context.Context, m *metadata, uri string) result {
	name := "post-logout URI " + uri
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "end_session_endpoint %q: %v", m.EndSessionEndpoint, err)
	}
	q := u.Query()
	q.Set("post_logout_redirect_uri", uri)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "%v", err)
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "end-session endpoint unreachable: %v", transportCause(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if code := codeRE.Find(body); code != nil || resp.StatusCode >= 400 {
		return failed(name, "correct "+auth.EnvPostLogoutURL+": an https URL (http only on localhost) registered as a redirect URI",
			"the end-session endpoint answered %d%s", resp.StatusCode, codeSuffix(body))
	}
	return ok(name, "registered as a redirect URI, and the end-session endpoint takes it")
}

// checkScopes asks the authorize endpoint for the API scopes: an unknown
// one is AADB2C90117, one the app was not granted AADB2C90205.
func (d *doctor) checkScopes(ctx context.Context, m *metadata, redirectURI string) result {
	const name = "API scopes"
	if len(d.cfg.Scopes) == 0 {
		return ok(name, "none configured (%s): sign-in asks for the client ID", auth.EnvAPIScopes)
	}
	scopes := strings.Join(d.cfg.Scopes, " ")
	a, err := d.authorize(ctx, m, redirectURI, d.cfg.Scopes)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "authorize endpoint unreachable: %v", err)
	}
	switch {
	case a.code == "AADB2C90117" || a.code == "AADB2C90012" || a.code == "AADB2C90055" || a.code == "AADB2C90146" || a.code == "AADSTS70011" || a.error == "invalid_scope":
		return failed(name, "set "+auth.EnvAPIScopes+" to full scopes the API exposes (https://{tenant}.onmicrosoft.com/{api}/{scope}, all of one API: App registrations, the API, Expose an API)",
			"%s: not a scope the tenant knows (%s)", scopes, orWord(a.code, a.error))
	case a.code == "AADB2C90205" || a.code == "AADSTS65001":
		return failed(name, "grant them: az ad app permission add --id "+d.cfg.ClientID+" --api <API application ID> --api-permissions <scope ID>=Scope, then az ad app permission admin-consent --id "+d.cfg.ClientID,
			"%s: not granted to the app (%s)", scopes, a.code)
	case a.code != "" || a.error != "":
		return failed(name, "see the code in B2C's error codes reference", "the authorize endpoint answered %s %s", orWord(a.code, a.error), a.description)
	case a.status >= 400:
		return failed(name, "check "+auth.EnvAPIScopes, "the authorize endpoint answered %d", a.status)
	}
	return ok(name, "%s: known, and at least one granted (a scope granted only partly shows at the first call to the API)", scopes)
}
