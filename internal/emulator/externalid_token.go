package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// externalIDTokenResponse is the identity platform's token response
// (v2-oauth2-auth-code-flow.md, Successful response): expires_in is a JSON
// number, and there is no not_before, id_token_expires_in, profile_info or
// refresh_token_expires_in as B2C has. client_info is what MSAL asks for with
// client_info=1.
type externalIDTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info"`
}

// externalIDToken is the token endpoint, for the authorization_code and
// refresh_token grants.
func (s *Server) externalIDToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, s.aadstsError("invalid_request", 0, "The request body is not a valid form."))
		return
	}
	client, status, err := s.authenticateExternalIDClient(r)
	if err != nil {
		if _, _, basic := r.BasicAuth(); basic && status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`) // RFC 6749 §5.2
		}
		s.tokenError(w, status, err)
		return
	}

	var (
		g      grant
		family string
	)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		g, family, err = s.redeemExternalIDCode(r, client)
	case "refresh_token":
		g, family, err = s.redeemExternalIDRefreshToken(r, client)
	case "":
		err = s.missingParameter("grant_type")
	default:
		// reference-error-codes.md: AADSTS70003 UnsupportedGrantType.
		err = s.aadstsError("unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", gt)
	}
	if err != nil {
		s.tokenError(w, http.StatusBadRequest, err)
		return
	}
	// The scope parameter picks the resource of this response; without it
	// "the token is for the scopes requested on the initial leg of the flow"
	// (v2-oauth2-auth-code-flow.md, Successful response).
	sc := g.scopes
	if raw := r.PostForm.Get("scope"); raw != "" {
		if sc, err = s.parseExternalIDScopes(raw, client, true); err != nil {
			s.tokenError(w, http.StatusBadRequest, err)
			return
		}
	}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		// "Refresh tokens replace themselves with a fresh token upon every
		// use." (refresh-tokens.md)
		sc.offline = true
	}
	s.mu.Lock()
	broken := s.breakOne
	s.breakOne = false
	s.mu.Unlock()
	if broken {
		sc.openid, sc.offline = true, true
	}
	resp, merr := s.mintExternalID(g, sc, family)
	if merr != nil {
		s.log.Error("b2c emulator: mint tokens", "err", merr)
		s.tokenError(w, http.StatusInternalServerError, s.aadstsError("server_error", 50000, "There was an error issuing a token."))
		return
	}
	w.Header().Set("Cache-Control", "no-store") // RFC 6749 §5.1
	w.Header().Set("Pragma", "no-cache")
	if broken {
		writeJSON(w, http.StatusOK, brokenBody(resp))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// authenticateExternalIDClient checks the client's secret, sent in the body
// (client_secret_post, what MSAL Go does) or with HTTP Basic, "The Basic auth
// pattern of instead providing credentials in the Authorization header, per
// RFC 6749 is also supported" (v2-oauth2-auth-code-flow.md).
func (s *Server) authenticateExternalIDClient(r *http.Request) (Client, int, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			// RFC 6749 §2.3: one authentication method per request.
			return Client{}, http.StatusBadRequest, s.aadstsError("invalid_request", 0, "The client authenticated with more than one method.")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, http.StatusUnauthorized, s.aadstsError("invalid_client", 0, "The Basic credentials are not form-encoded.")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return Client{}, http.StatusBadRequest, s.missingParameter("client_id")
	}
	c, ok := s.client(id)
	if !ok {
		return Client{}, http.StatusBadRequest, s.unknownApplication(id, r)
	}
	if secret == "" {
		return Client{}, http.StatusUnauthorized, s.aadstsError("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return Client{}, http.StatusUnauthorized, s.aadstsError("invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", c.ID)
	}
	return c, 0, nil
}

// redeemExternalIDCode checks an authorization code and its PKCE verifier,
// and marks it used.
func (s *Server) redeemExternalIDCode(r *http.Request, client Client) (grant, string, *oauthError) {
	fail := func(errorValue string, code int, format string, args ...any) (grant, string, *oauthError) {
		return grant{}, "", s.aadstsError(errorValue, code, format, args...)
	}
	code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	if code == "" {
		return grant{}, "", s.missingParameter("code")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok:
		return fail("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case c.used:
		// RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
		s.revoked[c.family] = true
		return fail("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case !now.Before(c.expires):
		return fail("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case c.client != client.ID:
		return fail("invalid_grant", 70000, "The provided authorization code was issued to another application.")
	case r.PostForm.Get("redirect_uri") == "":
		return grant{}, "", s.missingParameter("redirect_uri")
	case r.PostForm.Get("redirect_uri") != c.redirectURI:
		return fail("invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", r.PostForm.Get("redirect_uri"), c.redirectURI)
	case verifier == "":
		return grant{}, "", s.missingParameter("code_verifier")
	case !validVerifier(verifier) || s256(verifier) != c.challenge:
		return fail("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	c.used = true
	c.family = newUUID()
	return c.grant, c.family, nil
}

// redeemExternalIDRefreshToken checks a refresh token and rotates it. "Refresh
// tokens are valid for all permissions that your client has already received
// consent for" (v2-oauth2-auth-code-flow.md, Refresh the access token), so the
// scope parameter is checked against the consent, not the original grant.
func (s *Server) redeemExternalIDRefreshToken(r *http.Request, client Client) (grant, string, *oauthError) {
	fail := func(errorValue string, code int, format string, args ...any) (grant, string, *oauthError) {
		return grant{}, "", s.aadstsError(errorValue, code, format, args...)
	}
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		return grant{}, "", s.missingParameter("refresh_token")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[raw]
	switch {
	case !ok:
		return fail("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case s.revoked[t.family]:
		return fail("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	case !now.Before(t.expires):
		return fail("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case t.client != client.ID:
		return fail("invalid_grant", 70000, "The provided refresh token was issued to another application.")
	case t.rotated && s.cfg.RefreshTokenReuseDetection:
		// RFC 9700 §4.14.2: a replayed refresh token revokes its family.
		s.revoked[t.family] = true
		return fail("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	}
	t.rotated = true
	return t.grant, t.family, nil
}

// mintExternalID issues the tokens of a response: always an access token,
// for the API or, with OpenID Connect scopes alone, for Microsoft Graph; an ID
// token for openid; and a refresh token (joining family) for offline_access.
func (s *Server) mintExternalID(g grant, sc scopes, family string) (externalIDTokenResponse, error) {
	now := s.now()
	u, ok := s.user(g.userID)
	if !ok {
		return externalIDTokenResponse{}, fmt.Errorf("emulator: user %q is gone", g.userID)
	}
	key := s.currentKey()
	iss := s.ExternalIDIssuer()
	// The profile and email claims follow the OpenID Connect scopes of the
	// sign-in and of this request.
	profile, email := g.scopes.profile || sc.profile, g.scopes.email || sc.email
	resp := externalIDTokenResponse{
		TokenType:  "Bearer",
		ExpiresIn:  int64(s.cfg.AccessTokenLifetime / time.Second),
		Scope:      strings.Join(sc.resource, " "),
		ClientInfo: encodeJSON(map[string]string{"uid": u.ObjectID, "utid": s.cfg.TenantID}),
	}
	// The claims of every token (id-token-claims-reference.md and
	// access-token-claims-reference.md, Payload claims): sub is pairwise per
	// application, oid, name and preferred_username need the profile scope.
	common := func(aud string, lifetime time.Duration) map[string]any {
		c := map[string]any{"iss": iss, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(lifetime).Unix(), "sub": s.pairwiseSubject(aud, u.ObjectID), "ver": "2.0"}
		if profile {
			c["oid"] = u.ObjectID
			if u.Name != "" {
				c["name"] = u.Name
			}
			if u.Email != "" {
				// "The primary username that represents the user. It could be
				// an email address": the local account signs in with its email.
				c["preferred_username"] = u.Email
			}
		}
		return c
	}
	var issued []string
	if sc.audience == graphAppID {
		// "Microsoft Graph uses a special token issuance pattern ... the
		// token you receive here may not be a JWT and your app should
		// consider it opaque" (userinfo.md, Calling the UserInfo endpoint).
		// The emulator hosts no Graph: the token is opaque and nothing
		// accepts it.
		resp.AccessToken = rand.Text() + rand.Text()
	} else {
		c := common(sc.audience, s.cfg.AccessTokenLifetime)
		c["azp"] = g.client
		c["azpacr"] = "1" // "When you use the client ID and client secret, the value is 1."
		c["scp"] = strings.Join(sc.scp, " ")
		if profile {
			// "To receive this claim, the application must request the
			// profile scope." (access-token-claims-reference.md, tid)
			c["tid"] = s.cfg.TenantID
		}
		at, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign access token: %w", err)
		}
		resp.AccessToken = at
	}
	issued = append(issued, resp.AccessToken)
	if sc.openid {
		c := common(g.client, s.cfg.IDTokenLifetime)
		c["tid"] = s.cfg.TenantID
		if g.nonce != "" {
			c["nonce"] = g.nonce
		}
		// "On the v2.0 endpoint, your app can also request the email OpenID
		// Connect scope" (id-token-claims-reference.md, email); "The email
		// claim is included in a token only if an email address is associated
		// with the user account" (scopes-oidc.md, email).
		if email && u.Email != "" {
			c["email"] = u.Email
		}
		id, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign ID token: %w", err)
		}
		resp.IDToken = id
		issued = append(issued, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.offline {
		// A refreshed ID token carries no nonce (OIDC Core §12.2).
		next := g
		next.nonce, next.newUser = "", false
		raw := rand.Text() + rand.Text()
		s.refresh[raw] = &refreshToken{grant: next, family: family, expires: now.Add(s.cfg.RefreshTokenLifetime)}
		s.pruneLocked(now)
		resp.RefreshToken = raw
		issued = append(issued, raw)
	}
	s.recordLocked(issued...)
	return resp, nil
}
