package emulator

import (
	"net/http"
	"slices"
	"strings"
)

// discoveryDocument is the OpenID Provider metadata (OIDC Discovery §3) of
// one policy. Like B2C, every policy has its own endpoints and keys but all
// share one issuer.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

// discovery serves the metadata. The endpoints a browser visits are on the
// plain-http browser listener; the ones MSAL calls are on the TLS listener,
// whose scheme and host the issuer shares (MSAL checks that). Through the
// custom domain, every endpoint and the issuer are on it (custom-domain.md).
// The endpoints keep the tenant segment of the request: the onmicrosoft.com
// domain, or the tenant ID.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request, p Policy) {
	if s.servedOverride(w) {
		return
	}
	tenant := s.tenantDomain
	if strings.EqualFold(r.PathValue("tenant"), s.cfg.TenantID) {
		tenant = s.cfg.TenantID
	}
	path := "/" + tenant + "/" + strings.ToLower(p.Name)
	host := s.oauthHost(r)
	tlsBase := "https://" + host + path
	browserBase := s.browserOrigin(r) + path
	writeJSON(w, http.StatusOK, discoveryDocument{
		Issuer:                            s.PolicyIssuer(host, p.Name),
		AuthorizationEndpoint:             browserBase + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     tlsBase + "/oauth2/v2.0/token",
		EndSessionEndpoint:                browserBase + "/oauth2/v2.0/logout",
		JWKSURI:                           tlsBase + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query"},
		ResponseTypesSupported:            []string{"code"},
		ScopesSupported:                   []string{"openid", "offline_access"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported:                   p.claimsSupported(),
	})
}

// claimsSupported lists the claims the policy's ID tokens may carry.
func (p Policy) claimsSupported() []string {
	claims := []string{"iss", "sub", "aud", "exp", "nbf", "iat", "auth_time", "nonce", "ver"}
	if c := p.policyClaim(); c != "" {
		claims = append(claims, c)
	}
	for _, c := range applicationClaims {
		// The emulator issues no idp claim (local accounts only), so lists
		// it only when asked for.
		if c == "idp" && !slices.Contains(p.ApplicationClaims, c) || !p.returns(c) {
			continue
		}
		claims = append(claims, c)
	}
	return claims
}

// ServeNextDiscovery makes the next discovery request, of any user flow, get
// body with 200 instead of the document: a tenant's answer gone wrong for a
// moment, such as {}.
func (s *Server) ServeNextDiscovery(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextDiscovery = body
}

// servedOverride answers with the body ServeNextDiscovery set, once.
func (s *Server) servedOverride(w http.ResponseWriter) bool {
	s.mu.Lock()
	body := s.nextDiscovery
	s.nextDiscovery = nil
	s.mu.Unlock()
	if body == nil {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	return true
}
