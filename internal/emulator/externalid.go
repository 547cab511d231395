package emulator

// External ID mode (Config.ExternalID): the tenant is a Microsoft Entra
// External ID tenant, reached through the Microsoft identity platform's v2.0
// endpoints. The shapes it is checked against are in testdata/externalid/,
// each naming the article it was written from. Articles, as cited below:
//   - security-tokens.md (identity platform, Token endpoints and issuers):
//     the discovery document of an external tenant is at
//     https://{tenantname}.ciamlogin.com/{tenantid}/v2.0/.well-known/openid-configuration
//     and "returns an issuer value https://{tenantid}.ciamlogin.com/{tenantid}/v2.0";
//   - how-to-custom-url-domain.md (External ID, Configure your applications):
//     the endpoints are /{tenant name or ID}/v2.0/.well-known/openid-configuration,
//     /oauth2/v2.0/authorize and /oauth2/v2.0/token, with no policy;
//   - how-to-user-flow-add-application.md: "An application can have only one
//     user flow";
//   - how-to-enable-password-reset-customers.md: "Forgot password?" on the
//     sign-in page resets the password inside the flow;
//   - v2-protocols-oidc.md, v2-oauth2-auth-code-flow.md, id-tokens.md,
//     id-token-claims-reference.md, access-token-claims-reference.md,
//     scopes-oidc.md, reference-error-codes.md: the protocol, the tokens, the
//     scopes and the AADSTS codes.
//
// The emulator's two host names stand for Azure's two: the TLS listener as
// localhost:PORT is the authority host ({subdomain}.ciamlogin.com), and as
// 127.0.0.1:PORT, the same listener and certificate, the tenant-ID host
// ({tenant ID}.ciamlogin.com). Every endpoint answers through both names.
// The issuer is Azure's own string, on {tenant ID}.ciamlogin.com.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// graphAppID is Microsoft Graph's application ID, the audience of the token
// the identity platform issues for the OpenID Connect scopes alone:
// "The Microsoft identity platform implementation of OpenID Connect has a few
// well-defined scopes that are also hosted on Microsoft Graph: openid, email,
// profile, and offline_access. ... If you request the OpenID Connect scopes
// and a token, you'll get a token to call the UserInfo endpoint."
// (scopes-oidc.md, OpenID Connect scopes).
const graphAppID = "00000003-0000-0000-c000-000000000000"

// implicitFlowName names the user flow of an External ID tenant configured
// without Policies.
const implicitFlowName = "SignUpSignIn"

// externalIDErrorHeading heads the error pages, as the identity platform's
// sign-in page does.
const externalIDErrorHeading = "Sorry, but we're having trouble signing you in."

// externalIDFlow is the user flow of the application: the first policy of
// kind SignUpSignInWithReset, or an implicit one (withDefaults checked that
// one exists when policies is not empty).
func externalIDFlow(policies []Policy) Policy {
	for _, p := range policies {
		if p.Kind == SignUpSignInWithReset {
			return p
		}
	}
	return Policy{Name: implicitFlowName, Kind: SignUpSignInWithReset}
}

// ExternalIDAuthority is the MSAL authority of the External ID tenant on the
// authority host, as {subdomain}.ciamlogin.com is in Azure:
// https://localhost:PORT/{tenant ID} or
// https://localhost:PORT/{tenant}.onmicrosoft.com
// (microsoft-identity-web docs/ciam-authority-examples.md). Meaningful in
// External ID mode only.
func (s *Server) ExternalIDAuthority(byTenantID bool) string {
	if byTenantID {
		return "https://" + s.tlsHost + "/" + s.cfg.TenantID
	}
	return "https://" + s.tlsHost + "/" + s.tenantDomain
}

// ExternalIDIssuer is the iss of the External ID tenant's tokens and
// discovery documents, https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0,
// the value Azure gives (security-tokens.md): another host than the
// authority's. Nothing fetches from an issuer, so its host need not resolve
// here; the emulator serves that host's endpoints as 127.0.0.1:PORT.
// Meaningful in External ID mode only.
func (s *Server) ExternalIDIssuer() string {
	return "https://" + s.cfg.TenantID + ".ciamlogin.com/" + s.cfg.TenantID + "/v2.0"
}

// TenantIDHost is the host:port that stands for {tenant ID}.ciamlogin.com,
// 127.0.0.1:PORT. Meaningful in External ID mode only.
func (s *Server) TenantIDHost() string { return s.tlsIPHost }

// externalIDRoutes serves the v2.0 endpoints under /{tenant}/, the tenant
// being its onmicrosoft.com domain or its ID: discovery, keys and token on
// the TLS listener, the pages on the browser listener.
func (s *Server) externalIDRoutes(tlsMux, browserMux *http.ServeMux) {
	tlsMux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", s.tenantRoute("discovery", true, s.externalIDDiscovery))
	tlsMux.Handle("GET /{tenant}/discovery/v2.0/keys", s.tenantRoute("keys", true, func(w http.ResponseWriter, r *http.Request) {
		s.jwks(w, r, s.flow)
	}))
	tlsMux.Handle("POST /{tenant}/oauth2/v2.0/token", s.tenantRoute("token", true, s.externalIDToken))
	browserMux.Handle("GET /{tenant}/oauth2/v2.0/authorize", s.tenantRoute("authorize", false, s.externalIDAuthorize))
	browserMux.Handle("POST /{tenant}/login", s.tenantRoute("login", false, func(w http.ResponseWriter, r *http.Request) {
		s.login(w, r, s.flow)
	}))
	// "The end_session_endpoint supports both HTTP GET and POST requests."
	// (v2-protocols-oidc.md, Send a sign-out request)
	browserMux.Handle("GET /{tenant}/oauth2/v2.0/logout", s.tenantRoute("logout", false, s.externalIDLogout))
	browserMux.Handle("POST /{tenant}/oauth2/v2.0/logout", s.tenantRoute("logout", false, s.externalIDLogout))
}

// tenantRoute resolves the {tenant} segment, ignoring case as MSAL
// lowercases the authority, and answers AADSTS90002 for another tenant: as
// JSON for the endpoints MSAL calls, as a page for the ones a browser visits.
func (s *Server) tenantRoute(endpoint string, api bool, h http.HandlerFunc) http.Handler {
	return s.route(endpoint, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		if strings.EqualFold(tenant, s.tenantDomain) || strings.EqualFold(tenant, s.cfg.TenantID) {
			h(w, r)
			return
		}
		e := s.aadstsError("invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
		if api {
			writeJSON(w, http.StatusBadRequest, e)
			return
		}
		s.messagePage(w, http.StatusBadRequest, s.flow, externalIDErrorHeading, firstLine(e.Description))
	}))
}

// tenantSegment is the tenant as the request names it, in the emulator's
// spelling: the tenant ID or the onmicrosoft.com domain.
func (s *Server) tenantSegment(r *http.Request) string {
	if strings.EqualFold(r.PathValue("tenant"), s.cfg.TenantID) {
		return s.cfg.TenantID
	}
	return s.tenantDomain
}

// aadstsError formats an identity platform error: "AADSTS{code}: {message}"
// followed by a trace ID, a correlation ID and a timestamp, with
// error_codes, timestamp, trace_id, correlation_id and error_uri beside it
// (reference-error-codes.md, Handling error codes in your application).
// code 0 is for the checks the emulator adds on its own: the message stands
// without a code.
func (s *Server) aadstsError(errorValue string, code int, format string, args ...any) *oauthError {
	ts := s.now().UTC().Format("2006-01-02 15:04:05Z")
	trace, corr := newUUID(), newUUID()
	msg := fmt.Sprintf(format, args...)
	e := &oauthError{Code: errorValue, Timestamp: ts, TraceID: trace, CorrelationID: corr}
	if code != 0 {
		msg = fmt.Sprintf("AADSTS%d: %s", code, msg)
		e.Codes = []int{code}
		e.URI = fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code)
	}
	e.Description = msg + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + ts
	return e
}

// firstLine is an error description without its trace lines, as a page
// shows it.
func firstLine(desc string) string {
	line, _, _ := strings.Cut(desc, "\r\n")
	return line
}

// externalIDCancelled is what the emulator sends back when the user cancels
// the flow. No External ID article says what the service sends then; this is
// the identity platform's documented example error response, "error=
// access_denied&error_description=the+user+canceled+the+authentication"
// (v2-protocols-oidc.md and v2-oauth2-auth-code-flow.md, Error response),
// access_denied being the value MSAL and Microsoft.Identity.Web handle.
func externalIDCancelled() *oauthError {
	return &oauthError{Code: "access_denied", Description: "the user canceled the authentication"}
}

// externalIDDiscoveryDocument is an external tenant's OpenID Provider
// metadata (OIDC Discovery §3).
type externalIDDiscoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

// externalIDDiscovery serves the metadata. The issuer is always on the
// tenant-ID host (security-tokens.md); the endpoints MSAL calls are on the
// host the request came through, and the pages on the browser listener; all
// keep the tenant segment of the request.
func (s *Server) externalIDDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.servedOverride(w) {
		return
	}
	path := "/" + s.tenantSegment(r)
	tlsBase := "https://" + s.externalIDHost(r) + path
	browserBase := s.browserURL + path
	writeJSON(w, http.StatusOK, externalIDDiscoveryDocument{
		Issuer:                            s.ExternalIDIssuer(),
		AuthorizationEndpoint:             browserBase + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     tlsBase + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		JWKSURI:                           tlsBase + "/discovery/v2.0/keys",
		EndSessionEndpoint:                browserBase + "/oauth2/v2.0/logout",
		ResponseModesSupported:            []string{"query"},
		ResponseTypesSupported:            []string{"code"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "tid", "ver", "oid", "name", "preferred_username", "email"},
	})
}

// externalIDHost is the host:port of the TLS listener the request came
// through: the tenant-ID host's (127.0.0.1:PORT) or, by default, the
// authority's.
func (s *Server) externalIDHost(r *http.Request) string {
	if strings.EqualFold(r.Host, s.tlsIPHost) {
		return s.tlsIPHost
	}
	return s.tlsHost
}

// externalIDAuthorize is the authorization endpoint. Errors about the client
// or its redirect URI are shown as a page, as the identity platform's sign-in
// page shows them; any other goes back to the redirect URI.
func (s *Server) externalIDAuthorize(w http.ResponseWriter, r *http.Request) {
	p := s.flow
	if err := r.ParseForm(); err != nil {
		s.messagePage(w, http.StatusBadRequest, p, externalIDErrorHeading, "The query string is malformed.")
		return
	}
	q := r.Form
	clientID, redirectURI, state := q.Get("client_id"), q.Get("redirect_uri"), q.Get("state")
	if clientID == "" {
		s.messagePage(w, http.StatusBadRequest, p, externalIDErrorHeading, firstLine(s.missingParameter("client_id").Description))
		return
	}
	c, ok := s.client(clientID)
	if !ok {
		s.messagePage(w, http.StatusBadRequest, p, externalIDErrorHeading, firstLine(s.unknownApplication(clientID, r).Description))
		return
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		s.messagePage(w, http.StatusBadRequest, p, externalIDErrorHeading, firstLine(s.aadstsError("invalid_request", 50011,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
			redirectURI, clientID).Description))
		return
	}
	pa, err := s.checkExternalIDAuthRequest(q, c)
	if err != nil {
		s.redirectError(w, r, redirectURI, state, err)
		return
	}
	tx := rand.Text()
	s.mu.Lock()
	s.pending[tx] = pa
	s.pruneLocked(s.now())
	s.mu.Unlock()
	s.render(w, http.StatusOK, s.newPage(p, tx, "login"))
}

// missingParameter is AADSTS900144, "The request body must contain the
// following parameter: '{name}'." (reference-error-codes.md).
func (s *Server) missingParameter(name string) *oauthError {
	return s.aadstsError("invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

// unknownApplication is AADSTS700016 (reference-error-codes.md,
// UnauthorizedClient_DoesNotMatchRequest), with the service's wording and
// error value as MSAL's samples quote them.
func (s *Server) unknownApplication(clientID string, r *http.Request) *oauthError {
	return s.aadstsError("unauthorized_client", 700016,
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		clientID, s.tenantSegment(r))
}

// checkExternalIDAuthRequest checks the parameters of an authorize request
// whose client and redirect URI are known good.
func (s *Server) checkExternalIDAuthRequest(q url.Values, c Client) (*pendingAuth, *oauthError) {
	fail := func(errorValue string, code int, format string, args ...any) (*pendingAuth, *oauthError) {
		return nil, s.aadstsError(errorValue, code, format, args...)
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch rt, mode := q.Get("response_type"), q.Get("response_mode"); {
	case rt != "code":
		// reference-error-codes.md: AADSTS70005 UnsupportedResponseType; the
		// text is the emulator's, which implements the code flow only.
		return fail("unsupported_response_type", 70005, "The emulator supports response_type 'code' only, not '%s'.", rt)
	case mode != "" && mode != "query":
		// reference-error-codes.md: AADSTS70007 UnsupportedResponseMode; the
		// text is the emulator's, which answers in the query only.
		return fail("invalid_request", 70007, "The emulator supports response_mode 'query' only, not '%s'.", mode)
	case q.Get("scope") == "":
		return nil, s.missingParameter("scope")
	}
	sc, scopeErr := s.parseExternalIDScopes(q.Get("scope"), c, false)
	switch {
	case scopeErr != nil:
		return nil, scopeErr

	// The identity platform requires none of the checks below from a
	// confidential client; the emulator does, to catch an app that forgets
	// them. Their texts are the emulator's.
	case !sc.openid:
		return fail("invalid_request", 0, "The scope parameter must include 'openid'.")
	case q.Get("state") == "":
		return fail("invalid_request", 0, "The request does not contain a state parameter.")
	case q.Get("nonce") == "":
		return fail("invalid_request", 0, "The request does not contain a nonce parameter.")
	case challenge == "":
		return fail("invalid_request", 0, "The request does not contain a code_challenge parameter.")
	case method != "S256":
		return fail("invalid_request", 0, "The supplied code_challenge_method '%s' is not supported. Supported value is S256.", method)
	case !validChallenge(challenge):
		return fail("invalid_request", 0, "The supplied code_challenge is not the base64url encoding of a SHA-256 hash.")
	case q.Get("prompt") == "none":
		// The emulator keeps no session to sign in from; reference-error-codes.md:
		// "AADSTS50058 ... This error might be returned to the application if
		// prompt=none is specified."
		return fail("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
	}
	return &pendingAuth{
		policy:      s.flow,
		client:      c.ID,
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   challenge,
		scopes:      sc,
		expires:     s.now().Add(pendingLifetime),
	}, nil
}

// parseExternalIDScopes reads a scope parameter of an External ID request.
//
// openid, profile, email and offline_access are the OpenID Connect scopes,
// hosted on Microsoft Graph (scopes-oidc.md). An API scope is the API's App
// ID URI, such as api://{client ID}, or its client ID, then "/" and the
// scope. Any other scope is refused with AADSTS70011: "if the resource
// identifier is omitted in the scope parameter, the resource is assumed to be
// Microsoft Graph" (scopes-oidc.md), so a bare client ID, B2C's convention
// for a token for the app itself, names a Graph permission the emulator does
// not have.
//
// The access token is for one resource: the API, or with OpenID Connect
// scopes alone Microsoft Graph. At the token endpoint "The scopes must all be
// from a single resource, along with OIDC scopes" (v2-oauth2-auth-code-flow.md,
// Request an access token); the authorize request "can cover multiple
// resources", and the code then redeems for the first.
//
// Every API scope must be consented for the client (Client.GrantedScopes, all
// when nil): "since the tenant is a customer's tenant, the consumer users
// themselves can't consent to these permissions" (External ID
// grant-api-permission-sign-in.md), so a scope without admin consent fails the
// request with AADSTS65001.
func (s *Server) parseExternalIDScopes(raw string, c Client, atToken bool) (scopes, *oauthError) {
	var sc scopes
	for _, v := range strings.Fields(raw) {
		switch v {
		case "openid":
			sc.openid = true
			continue
		case "offline_access":
			sc.offline = true
			continue
		case "profile":
			sc.profile = true
			continue
		case "email":
			sc.email = true
			continue
		}
		api, short, ok := s.externalIDAPIScope(v)
		if !ok {
			return scopes{}, s.aadstsError("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", v)
		}
		if !consented(c, api, short) {
			if atToken {
				e := s.consentMissing(c)
				e.Code, e.SubError = "invalid_grant", "consent_required"
				return scopes{}, e
			}
			return scopes{}, s.consentMissing(c)
		}
		if sc.audience != "" && sc.audience != api.ClientID {
			if atToken {
				return scopes{}, s.aadstsError("invalid_scope", 700022, "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", raw)
			}
			continue // consented; the code redeems for the first resource
		}
		sc.audience = api.ClientID
		if !slices.Contains(sc.scp, short) {
			sc.resource, sc.scp = append(sc.resource, v), append(sc.scp, short)
		}
	}
	if sc.audience == "" {
		sc.audience = graphAppID
		for _, v := range []string{"email", "openid", "profile"} { // in the order of the documented example
			if v == "email" && sc.email || v == "openid" && sc.openid || v == "profile" && sc.profile {
				sc.resource = append(sc.resource, v)
			}
		}
	}
	return sc, nil
}

// consentMissing is AADSTS65001 at the authorize endpoint. Its text is the
// service's as msal-error-handling-dotnet.md quotes it; the error value is not
// documented for this case, and consent_required is OpenID Connect Core
// §3.1.2.6's ("The Authorization Server requires End-User consent") and the
// identity platform's for a token request the app lacks consent for
// (v2-oauth2-auth-code-flow.md, Error codes for token endpoint errors).
func (s *Server) consentMissing(c Client) *oauthError {
	return s.aadstsError("consent_required", 65001,
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", c.ID, c.ID)
}

// externalIDAPIScope finds the API a full scope belongs to, by its App ID URI
// or by its client ID (the GUID-based application identifier), and returns
// the short scope.
func (s *Server) externalIDAPIScope(scope string) (API, string, bool) {
	for _, api := range s.cfg.APIs {
		for _, prefix := range []string{api.AppIDURI, api.ClientID} {
			if prefix == "" {
				continue
			}
			if short, ok := strings.CutPrefix(scope, prefix+"/"); ok && slices.Contains(api.Scopes, short) {
				return api, short, true
			}
		}
	}
	return API{}, "", false
}

// consented reports whether the API scope is granted for the client: every
// scope when GrantedScopes is nil, else those it lists, in either form.
func consented(c Client, api API, short string) bool {
	if c.GrantedScopes == nil {
		return true
	}
	return slices.Contains(c.GrantedScopes, api.AppIDURI+"/"+short) || slices.Contains(c.GrantedScopes, api.ClientID+"/"+short)
}

// pairwiseSubject is the sub of the user's tokens for an application: "The
// subject is a pairwise identifier and is unique to an application ID"
// (id-token-claims-reference.md, access-token-claims-reference.md). The
// emulator derives it from the tenant, the application and the user, in the
// form of the documented example (43 base64url characters).
func (s *Server) pairwiseSubject(appID, objectID string) string {
	sum := sha256.Sum256([]byte("sub\x00" + s.cfg.TenantID + "\x00" + strings.ToLower(appID) + "\x00" + objectID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
