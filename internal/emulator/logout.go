package emulator

import (
	"net/http"
	"net/url"
)

// logout is the end-session endpoint (OIDC RP-Initiated Logout §2). The
// emulator keeps no session, so it only checks the request and sends the
// user back.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, p Policy) {
	if err := r.ParseForm(); err != nil {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "The query string is malformed.")
		return
	}
	q := r.Form
	if hint := q.Get("id_token_hint"); hint != "" {
		// Expired hints are fine: a user often signs out long after signing in.
		var claims idTokenClaims
		if err := s.verify(hint, &claims); err != nil {
			s.messagePage(w, http.StatusBadRequest, p, "Sign-out failed", "AADB2C90233: The provided id_token_hint parameter failed signature validation. Please provide another token and try again.")
			return
		}
	}
	if target := q.Get("post_logout_redirect_uri"); target != "" && s.registeredOrigin(target) {
		if state := q.Get("state"); state != "" {
			target = addQuery(target, url.Values{"state": {state}})
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	s.messagePage(w, http.StatusOK, p, "Signed out", "You have signed out.")
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
