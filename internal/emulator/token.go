package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
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
