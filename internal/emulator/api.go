package emulator

import (
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// apiResponse is what the protected API stand-in answers.
type apiResponse struct {
	Message string    `json:"message"`
	Name    string    `json:"name"`
	OID     string    `json:"oid"`
	Scopes  []string  `json:"scopes"`
	Time    time.Time `json:"time"`
}

// api is the protected API stand-in: it accepts a bearer access token
// (RFC 6750 §2.1) issued by the emulator for one of the configured APIs and
// carrying every scope that API defines. Times are checked with Config.Now
// and no leeway.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		// RFC 6750 §3.1: no error code when the request has no token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		writeJSON(w, http.StatusUnauthorized, oauthError{Code: "invalid_request", Description: "The request has no bearer token."})
		return
	}
	var c accessTokenClaims
	if err := s.verify(raw, &c); err != nil {
		s.apiError(w, http.StatusUnauthorized, "invalid_token", "The token signature is invalid.")
		return
	}
	now := s.now().Unix()
	api, known := s.apiByClientID(c.Audience)
	switch {
	case !s.knownIssuer(c.Issuer):
		s.apiError(w, http.StatusUnauthorized, "invalid_token", "The token issuer is not this tenant.")
	case !known:
		s.apiError(w, http.StatusUnauthorized, "invalid_token", "The token audience is not a configured API.")
	case now >= c.Expiry: // RFC 7519 §4.1.4
		s.apiError(w, http.StatusUnauthorized, "invalid_token", "The token has expired.")
	case now < c.NotBefore:
		s.apiError(w, http.StatusUnauthorized, "invalid_token", "The token is not valid yet.")
	case !hasAll(strings.Fields(c.Scope), api.Scopes):
		// RFC 6750 §3.1: a valid token without the scope is forbidden.
		s.apiError(w, http.StatusForbidden, "insufficient_scope", "The token lacks a scope this API requires.")
	default:
		writeJSON(w, http.StatusOK, apiResponse{
			Message: "Hello from the " + strings.TrimSuffix(path.Base(api.AppIDURI), "-api") + " API",
			Name:    c.Name,
			OID:     c.ObjectID,
			Scopes:  strings.Fields(c.Scope),
			Time:    s.now().UTC(),
		})
	}
}

// apiError answers with an RFC 6750 §3 challenge. Descriptions must not hold
// quotes or backslashes.
func (s *Server) apiError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="`+code+`", error_description="`+desc+`"`)
	writeJSON(w, status, oauthError{Code: code, Description: desc})
}

func (s *Server) apiByClientID(id string) (API, bool) {
	for _, api := range s.cfg.APIs {
		if id != "" && api.ClientID == id {
			return api, true
		}
	}
	return API{}, false
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
