package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// logout is the end-session endpoint (OIDC RP-Initiated Logout §2). The
// emulator keeps no session, so it only checks the request and sends the
// user back.
//
// By default a post_logout_redirect_uri is followed when it has the origin
// of a redirect URI of some client, and an expired id_token_hint is fine.
// With Config.StrictLogout, a request with an id_token_hint follows B2C's
// rule instead: "if a valid id_token_hint is passed, Azure AD B2C verifies
// that the value of post_logout_redirect_uri matches one of the
// application's configured redirect URIs before performing the redirect. If
// no matching reply URL was configured for the application, an error message
// is displayed and the user is not redirected" (openid-connect.md, Secure
// your logout redirect; session-behavior.md, Secure your logout redirect).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, p Policy) {
	if err := r.ParseForm(); err != nil {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "The query string is malformed.")
		return
	}
	q := r.Form
	target := q.Get("post_logout_redirect_uri")
	if hint := q.Get("id_token_hint"); hint != "" {
		var claims idTokenClaims
		if err := s.verify(hint, &claims); err != nil {
			s.messagePage(w, http.StatusBadRequest, p, "Sign-out failed", "AADB2C90233: The provided id_token_hint parameter failed signature validation. Please provide another token and try again.")
			return
		}
		if s.cfg.StrictLogout {
			if s.now().Unix() >= claims.Expiry { // RFC 7519 §4.1.4
				s.messagePage(w, http.StatusBadRequest, p, "Sign-out failed", "AADB2C90208: The provided id_token_hint parameter is expired. Please provide another token and try again.")
				return
			}
			if target == "" {
				// "If it isn't included, Azure AD B2C shows the user a
				// generic message." (openid-connect.md, Send a sign-out request)
				s.messagePage(w, http.StatusOK, p, "Signed out", "You have signed out.")
				return
			}
			if c, ok := s.client(claims.Audience); !ok || !slices.Contains(c.RedirectURIs, target) {
				// B2C's articles name no code for this page; AADB2C90006 is
				// the one error-codes.md has for a redirect URI the
				// application did not register.
				s.messagePage(w, http.StatusBadRequest, p, "Sign-out failed", fmt.Sprintf("AADB2C90006: The redirect URI '%s' provided in the request is not registered for the client ID '%s'.", target, claims.Audience))
				return
			}
			s.redirectAfterLogout(w, r, target)
			return
		}
		// Expired hints are fine: a user often signs out long after signing in.
	}
	if target != "" && s.registeredOrigin(target) {
		s.redirectAfterLogout(w, r, target)
		return
	}
	s.messagePage(w, http.StatusOK, p, "Signed out", "You have signed out.")
}

func (s *Server) redirectAfterLogout(w http.ResponseWriter, r *http.Request, target string) {
	if state := r.Form.Get("state"); state != "" {
		target = addQuery(target, url.Values{"state": {state}})
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// registeredOrigin reports whether u has the scheme, host and port of a
// registered redirect URI of some client.
func (s *Server) registeredOrigin(u string) bool {
	target, err := url.Parse(u)
	if err != nil || target.Host == "" {
		return false
	}
	for _, c := range s.cfg.Clients {
		for _, ru := range c.RedirectURIs {
			if reg, err := url.Parse(ru); err == nil && reg.Scheme == target.Scheme && reg.Host == target.Host {
				return true
			}
		}
	}
	return false
}
