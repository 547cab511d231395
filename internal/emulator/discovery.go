package emulator

import (
	"net/http"
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
// whose scheme and host the issuer shares (MSAL checks that).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request, p Policy) {
	path := "/" + s.tenantDomain + "/" + strings.ToLower(p.Name)
	tlsBase := "https://" + s.tlsHost + path
	browserBase := s.browserURL + path
	writeJSON(w, http.StatusOK, discoveryDocument{
		Issuer:                            s.Issuer(),
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
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "nbf", "iat", "auth_time", "nonce",
			"ver", "tfp", "oid", "name", "given_name", "family_name", "emails", "newUser"},
	})
}
