package emulator

import (
	"slices"
	"strings"
)

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
