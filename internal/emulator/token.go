package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const codeLifetime = 5 * time.Minute

// externalIDCodeLifetime: "Authorization codes are short lived. Typically,
// they expire after about 10 minutes." (v2-oauth2-auth-code-flow.md,
// Successful response).
const externalIDCodeLifetime = 10 * time.Minute

// codeTTL is how long an authorization code of the tenant stays redeemable.
func (s *Server) codeTTL() time.Duration {
	if s.cfg.ExternalID {
		return externalIDCodeLifetime
	}
	return codeLifetime
}

// scopes is a parsed scope parameter.
type scopes struct {
	openid, offline bool
	profile, email  bool     // External ID: the OIDC scopes that add claims
	audience        string   // aud of the access token: an API's ClientID or the client's own ID; "" for none
	scp             []string // short API scopes, for the scp claim
	resource        []string // the resource scopes as requested, echoed in the response
}

// parseScopes reads a scope parameter. B2C grants an access token for one
// resource only: an API, by its full scopes, or the app itself, by its
// client ID.
func (s *Server) parseScopes(raw, clientID string) (scopes, *oauthError) {
	fail := func(format string, args ...any) (scopes, *oauthError) {
		return scopes{}, s.b2cError("invalid_scope", format, args...) // RFC 6749 §4.1.2.1, §5.2
	}
	var sc scopes
	for _, v := range strings.Fields(raw) {
		aud, short := clientID, ""
		switch v {
		case "openid":
			sc.openid = true
			continue
		case "offline_access":
			sc.offline = true
			continue
		case "profile":
			// MSAL adds it to every token request; B2C ignores it.
			continue
		case clientID:
		default:
			api, ok := s.apiScope(v)
			if !ok {
				return fail("AADB2C90117: The scope '%s' provided in the request is not supported.", v)
			}
			aud, short = api.ClientID, strings.TrimPrefix(v, api.AppIDURI+"/")
		}
		if sc.audience != "" && sc.audience != aud {
			return fail("AADB2C90146: The scope '%s' provided in request specifies more than one resource for an access token, which is not supported.", raw)
		}
		sc.audience = aud
		if !slices.Contains(sc.resource, v) {
			sc.resource = append(sc.resource, v)
			if short != "" {
				sc.scp = append(sc.scp, short)
			}
		}
	}
	return s.grantedOnly(sc, clientID)
}

// grantedOnly leaves out of sc the API scopes not consented for the client:
// "If you request more scopes than what is granted for your client
// application, the call succeeds if at least one permission is granted"
// (access-tokens.md, Scopes). With none granted the request fails with
// AADB2C90205, whose error value is invalid_request as B2C sends it.
func (s *Server) grantedOnly(sc scopes, clientID string) (scopes, *oauthError) {
	c, ok := s.client(clientID)
	if !ok || c.GrantedScopes == nil || sc.audience == "" || sc.audience == clientID {
		return sc, nil
	}
	var resource, scp []string
	for i, v := range sc.resource {
		if slices.Contains(c.GrantedScopes, v) {
			resource, scp = append(resource, v), append(scp, sc.scp[i])
		}
	}
	if len(resource) == 0 {
		return scopes{}, s.b2cError("invalid_request", "AADB2C90205: This application does not have sufficient permissions against this web resource to perform the operation.")
	}
	sc.resource, sc.scp = resource, scp
	return sc, nil
}

func (s *Server) apiScope(scope string) (API, bool) {
	for _, api := range s.cfg.APIs {
		if short, ok := strings.CutPrefix(scope, api.AppIDURI+"/"); ok && slices.Contains(api.Scopes, short) {
			return api, true
		}
	}
	return API{}, false
}

// grant is what an authorization code or a refresh token stands for.
type grant struct {
	client   string
	policy   Policy
	userID   string
	scopes   scopes // as authorized
	nonce    string // only in the ID token redeemed from the code
	authTime time.Time
	newUser  bool
}

type authCode struct {
	grant
	redirectURI string
	challenge   string
	expires     time.Time
	used        bool
	family      string // of the refresh tokens issued from it
}

type refreshToken struct {
	grant
	family  string
	expires time.Time
	rotated bool
}

// token is the token endpoint (RFC 6749 §3.2), for the authorization_code
// and refresh_token grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request, p Policy) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, s.b2cError("invalid_request", "The request body is not a valid form."))
		return
	}
	client, status, err := s.authenticateClient(r)
	if err != nil {
		if _, _, basic := r.BasicAuth(); basic && status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`) // RFC 6749 §5.2
		}
		s.tokenError(w, status, err)
		return
	}

	var (
		g      grant
		sc     scopes
		family string
	)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		g, family, err = s.redeemCode(r, client, p)
		sc = g.scopes
	case "refresh_token":
		g, family, sc, err = s.redeemRefreshToken(r, client, p)
		sc.offline = true // refresh tokens rotate: every refresh returns a new one
	case "":
		err = s.b2cError("invalid_request", "AADB2C90083: The request is missing required parameter: grant_type.")
	default:
		err = s.b2cError("unsupported_grant_type", "AADB2C90086: The supplied grant_type [%s] is not supported.", gt)
	}
	if err != nil {
		s.tokenError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.Lock()
	broken := s.breakOne
	s.breakOne = false
	s.mu.Unlock()
	if broken {
		// All three tokens, whatever was asked for.
		sc.openid, sc.offline = true, true
		if sc.audience == "" {
			sc.audience = client.ID
		}
	}
	// The issuer is on the host the token request came through
	// (custom-domain.md, Token issuance).
	resp, merr := s.mint(g, sc, family, s.oauthHost(r))
	if merr != nil {
		s.log.Error("b2c emulator: mint tokens", "err", merr)
		s.tokenError(w, http.StatusInternalServerError, s.b2cError("server_error", "AADB2C90085: The service has encountered an internal error. Please reauthenticate and try again."))
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

// brokenBody is resp with expires_in turned into an object, which MSAL Go
// cannot decode; its error then quotes the whole body.
func brokenBody(resp any) map[string]any {
	b, _ := json.Marshal(resp)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["expires_in"] = map[string]any{"seconds": m["expires_in"]}
	return m
}

func (s *Server) tokenError(w http.ResponseWriter, status int, e *oauthError) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, e)
}

// authenticateClient checks the client's secret, sent in the body
// (client_secret_post, what MSAL Go does) or with HTTP Basic (RFC 6749 §2.3.1).
func (s *Server) authenticateClient(r *http.Request) (Client, int, *oauthError) {
	fail := func(status int, code, format string, args ...any) (Client, int, *oauthError) {
		return Client{}, status, s.b2cError(code, format, args...)
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			// RFC 6749 §2.3: one authentication method per request.
			return fail(http.StatusBadRequest, "invalid_request", "The client authenticated with more than one method.")
		}
		// RFC 6749 §2.3.1: the id and secret are form-encoded inside Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return fail(http.StatusUnauthorized, "invalid_client", "The Basic credentials are not form-encoded.")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return fail(http.StatusBadRequest, "invalid_request", "AADB2C90083: The request is missing required parameter: client_id.")
	}
	c, ok := s.client(id)
	if !ok {
		return fail(http.StatusUnauthorized, "invalid_client", "AADB2C90018: The client ID '%s' specified in the request is not registered in tenant '%s'.", id, s.tenantDomain)
	}
	if secret == "" {
		return fail(http.StatusUnauthorized, "invalid_client", "AADB2C90079: Clients must send a client_secret when redeeming a confidential grant.")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return fail(http.StatusUnauthorized, "invalid_client", "AADB2C90081: The specified client_secret does not match the expected value for this client. Please correct the client_secret and try again.")
	}
	return c, 0, nil
}

// redeemCode checks an authorization code (RFC 6749 §4.1.3) and its PKCE
// verifier (RFC 7636 §4.6), and marks it used.
func (s *Server) redeemCode(r *http.Request, client Client, p Policy) (grant, string, *oauthError) {
	fail := func(code, format string, args ...any) (grant, string, *oauthError) {
		return grant{}, "", s.b2cError(code, format, args...)
	}
	code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	if code == "" {
		return fail("invalid_request", "AADB2C90083: The request is missing required parameter: code.")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok:
		return fail("invalid_grant", "AADB2C90090: The provided JWE is not a valid 5 segment token.")
	case c.used:
		// RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
		s.revoked[c.family] = true
		return fail("invalid_grant", "AADB2C90129: The provided grant has been revoked. Please reauthenticate and try again.")
	case !now.Before(c.expires):
		return fail("invalid_grant", "AADB2C90080: The provided grant has expired. Please re-authenticate and try again. Current time: %d, Grant issued time: %d, Grant sliding window expiration time: %d.",
			now.Unix(), c.expires.Add(-codeLifetime).Unix(), c.expires.Unix())
	case c.client != client.ID:
		return fail("invalid_grant", "The provided grant was issued to another client.")
	case !strings.EqualFold(c.policy.Name, p.Name):
		return fail("invalid_grant", "AADB2C90088: The provided grant has not been issued for this endpoint. Actual Value : %s and Expected Value : %s", c.policy.Name, p.Name)
	case r.PostForm.Get("redirect_uri") != c.redirectURI:
		return fail("redirect_uri_mismatch", "AADB2C90006: The redirect URI '%s' provided in the request is not registered for the client ID '%s'.", r.PostForm.Get("redirect_uri"), client.ID)
	case verifier == "":
		return fail("invalid_request", "AADB2C90083: The request is missing required parameter: code_verifier.")
	case !validVerifier(verifier):
		return fail("invalid_grant", "AADB2C90183: The supplied code_verifier is invalid")
	case s256(verifier) != c.challenge:
		return fail("invalid_grant", "AADB2C90182: The supplied code_verifier does not match associated code_challenge")
	}
	c.used = true
	c.family = newUUID()
	return c.grant, c.family, nil
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// s256 is the S256 code challenge of a verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// redeemRefreshToken checks a refresh token (RFC 6749 §6) and rotates it.
// The scope parameter picks what this response carries; the new refresh
// token keeps the original grant.
func (s *Server) redeemRefreshToken(r *http.Request, client Client, p Policy) (grant, string, scopes, *oauthError) {
	fail := func(code, format string, args ...any) (grant, string, scopes, *oauthError) {
		return grant{}, "", scopes{}, s.b2cError(code, format, args...)
	}
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		return fail("invalid_request", "AADB2C90083: The request is missing required parameter: refresh_token.")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[raw]
	switch {
	case !ok:
		return fail("invalid_grant", "AADB2C90090: The provided JWE is not a valid 5 segment token.")
	case s.revoked[t.family]:
		return fail("invalid_grant", "AADB2C90129: The provided grant has been revoked. Please reauthenticate and try again.")
	case !now.Before(t.expires):
		return fail("invalid_grant", "AADB2C90080: The provided grant has expired. Please re-authenticate and try again. Current time: %d, Grant issued time: %d, Grant sliding window expiration time: %d.",
			now.Unix(), t.expires.Add(-s.cfg.RefreshTokenLifetime).Unix(), t.expires.Unix())
	case t.client != client.ID:
		return fail("invalid_grant", "The provided grant was issued to another client.")
	case !strings.EqualFold(t.policy.Name, p.Name):
		return fail("invalid_grant", "AADB2C90088: The provided grant has not been issued for this endpoint. Actual Value : %s and Expected Value : %s", t.policy.Name, p.Name)
	case t.rotated && s.cfg.RefreshTokenReuseDetection:
		// RFC 9700 §4.14.2: a replayed refresh token revokes its family.
		s.revoked[t.family] = true
		return fail("invalid_grant", "AADB2C90129: The provided grant has been revoked. Please reauthenticate and try again.")
	}
	sc := t.scopes
	if raw := r.PostForm.Get("scope"); raw != "" {
		var err *oauthError
		if sc, err = s.parseScopes(raw, client.ID); err != nil {
			return grant{}, "", scopes{}, err
		}
	}
	t.rotated = true
	return t.grant, t.family, sc, nil
}

// tokenResponse is B2C's token response: times are strings, and fields are
// present only for what was asked.
type tokenResponse struct {
	AccessToken           string `json:"access_token,omitempty"`
	TokenType             string `json:"token_type"`
	ExpiresIn             string `json:"expires_in,omitempty"`
	NotBefore             string `json:"not_before"`
	Scope                 string `json:"scope"`
	IDToken               string `json:"id_token,omitempty"`
	IDTokenExpiresIn      string `json:"id_token_expires_in,omitempty"`
	ProfileInfo           string `json:"profile_info"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn string `json:"refresh_token_expires_in,omitempty"`
	ClientInfo            string `json:"client_info"`
}

// idTokenClaims decodes an ID token. mint builds the claims as a map, as
// which claims a token carries depends on the policy.
type idTokenClaims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   string   `json:"aud"`
	Expiry     int64    `json:"exp"`
	NotBefore  int64    `json:"nbf"`
	IssuedAt   int64    `json:"iat"`
	AuthTime   int64    `json:"auth_time"`
	Nonce      string   `json:"nonce,omitempty"`
	Version    string   `json:"ver"`
	Policy     string   `json:"tfp,omitempty"`
	ACR        string   `json:"acr,omitempty"`
	ObjectID   string   `json:"oid,omitempty"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Emails     []string `json:"emails,omitempty"`
	NewUser    bool     `json:"newUser,omitempty"`
}

// accessTokenClaims decodes an access token.
type accessTokenClaims struct {
	Issuer          string `json:"iss"`
	Audience        string `json:"aud"`
	Subject         string `json:"sub"`
	ObjectID        string `json:"oid,omitempty"`
	Name            string `json:"name,omitempty"`
	Scope           string `json:"scp,omitempty"`
	AuthorizedParty string `json:"azp"`
	IssuedAt        int64  `json:"iat"`
	NotBefore       int64  `json:"nbf"`
	Expiry          int64  `json:"exp"`
	Nonce           string `json:"nonce,omitempty"`
	Policy          string `json:"tfp,omitempty"`
	ACR             string `json:"acr,omitempty"`
	Version         string `json:"ver"`
}

// mint issues the tokens of a response: an access token when a resource was
// asked for, an ID token for openid, and a refresh token (joining family)
// for offline_access. host is where the token request came in, and so the
// host of the issuer.
func (s *Server) mint(g grant, sc scopes, family, host string) (tokenResponse, error) {
	now := s.now()
	u, ok := s.user(g.userID)
	if !ok {
		return tokenResponse{}, fmt.Errorf("emulator: user %q is gone", g.userID)
	}
	p := g.policy
	key := s.currentKey()
	iss := s.PolicyIssuer(host, p.Name)
	granted := slices.Clone(sc.resource)
	resp := tokenResponse{
		TokenType:   "Bearer",
		NotBefore:   unix(now),
		ProfileInfo: encodeJSON(map[string]any{"ver": "1.0", "tid": s.cfg.TenantID, "oid": u.ObjectID, "name": u.Name}),
		ClientInfo:  encodeJSON(map[string]string{"uid": u.ObjectID + "-" + strings.ToLower(p.Name), "utid": s.cfg.TenantID}),
	}
	sub := u.ObjectID
	if p.LegacySubject {
		sub = legacySubject
	}
	// The claims every token of the policy carries (tokens-overview.md, Claims).
	common := func(aud string, lifetime time.Duration) map[string]any {
		c := map[string]any{"iss": iss, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(lifetime).Unix(), "ver": "1.0"}
		if pc := p.policyClaim(); pc != "" {
			c[pc] = p.Name
		}
		if g.nonce != "" {
			c["nonce"] = g.nonce
		}
		if p.returns("oid") {
			c["oid"] = u.ObjectID
		}
		return c
	}
	var issued []string
	if sc.audience != "" {
		c := common(sc.audience, s.cfg.AccessTokenLifetime)
		c["azp"] = g.client
		if len(sc.scp) > 0 {
			c["scp"] = strings.Join(sc.scp, " ")
		}
		if p.returns("name") && u.Name != "" {
			c["name"] = u.Name
		}
		at, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign access token: %w", err)
		}
		resp.AccessToken, resp.ExpiresIn = at, seconds(s.cfg.AccessTokenLifetime)
		issued = append(issued, at)
	}
	if sc.openid {
		c := common(g.client, s.cfg.IDTokenLifetime)
		c["auth_time"] = g.authTime.Unix()
		if p.returns("name") {
			c["name"] = u.Name
		}
		if p.returns("given_name") && u.GivenName != "" {
			c["given_name"] = u.GivenName
		}
		if p.returns("family_name") && u.FamilyName != "" {
			c["family_name"] = u.FamilyName
		}
		if p.returns("emails") {
			var emails []string // null without an email, as before
			if u.Email != "" {
				emails = []string{u.Email}
			}
			c["emails"] = emails
		}
		if p.returns("newUser") && g.newUser {
			c["newUser"] = true
		}
		id, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign ID token: %w", err)
		}
		resp.IDToken, resp.IDTokenExpiresIn = id, seconds(s.cfg.IDTokenLifetime)
		granted = append(granted, "openid")
		issued = append(issued, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.offline {
		// A refreshed ID token carries no nonce (OIDC Core §12.2) and the
		// user is no longer new.
		next := g
		next.nonce, next.newUser = "", false
		raw := rand.Text()
		s.refresh[raw] = &refreshToken{grant: next, family: family, expires: now.Add(s.cfg.RefreshTokenLifetime)}
		s.pruneLocked(now)
		resp.RefreshToken, resp.RefreshTokenExpiresIn = raw, seconds(s.cfg.RefreshTokenLifetime)
		granted = append(granted, "offline_access")
		issued = append(issued, raw)
	}
	s.recordLocked(issued...)
	resp.Scope = strings.Join(granted, " ")
	return resp, nil
}

// pruneLocked forgets expired codes, refresh tokens and pending sign-ins.
func (s *Server) pruneLocked(now time.Time) {
	for k, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, k)
		}
	}
	for k, t := range s.refresh {
		if !now.Before(t.expires) {
			delete(s.refresh, k)
		}
	}
	for k, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, k)
		}
	}
}

func unix(t time.Time) string        { return strconv.FormatInt(t.Unix(), 10) }
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}
