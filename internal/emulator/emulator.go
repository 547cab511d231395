// Package emulator is a local stand-in for an Azure AD B2C tenant and for a
// web API it protects, faithful to Microsoft's B2C articles (the shapes it
// is checked against are in testdata/, each naming the article it was written
// from). MSAL Go and go-oidc run against it unchanged.
//
// It listens three times, four with Config.CustomDomain: the OAuth endpoints
// MSAL calls (discovery, keys, token) on https with a certificate from a CA
// generated at Start; the pages a browser sees (authorize, the sign-in forms,
// logout) on plain http://localhost, so a browser test needs no certificate
// flags; the protected API on plain http; and, for a custom domain, every
// endpoint on an https listener of its own whose certificate names the domain.
//
// Reproduced:
//   - path-form authorities, /{tenant}.onmicrosoft.com/{policy}/ and the
//     tenant-ID form /{tenantID}/{policy}/ (custom-domain.md), with policy and
//     tenant names matched case-insensitively, and 404 for a policy the tenant
//     lacks;
//   - one discovery document and JWKS per policy, and the two issuer forms of
//     the "Issuer (iss) claim" setting, https://{host}/{tenantID}/v2.0/ and
//     https://{host}/tfp/{tenantID}/{policy}/v2.0/ (tokens-overview.md), on
//     the host the request came through (custom-domain.md, Token issuance);
//   - the authorization code flow with PKCE S256, refresh token rotation, key
//     rollover, and the token response in its legacy form, times as strings
//     (openid-connect.md, Get a token; jwt-issuer-technical-profile.md,
//     SendTokenResponseBodyWithJsonNumbers=false), with client_info for MSAL;
//   - the claim carrying the policy ID (tfp, acr, or none), the legacy
//     constant subject, opt-in application claims per user flow, and scopes
//     consented per application, the others left out (access-tokens.md);
//   - B2C's error codes and texts (error-codes.md), each followed by a
//     correlation ID and a timestamp;
//   - logout, and with Config.StrictLogout the rule for a logout with
//     id_token_hint (openid-connect.md, Secure your logout redirect).
//
// With Config.ExternalID it is a Microsoft Entra External ID tenant instead
// (externalid.go; shapes in testdata/externalid/): v2.0 endpoints under
// /{tenant ID}/ and /{tenant}.onmicrosoft.com/ with no policy, one user flow,
// the issuer on the tenant-ID host (127.0.0.1:PORT, the TLS listener's other
// name), tokens of the identity platform and AADSTS errors.
//
// Not reproduced, on purpose: single sign-on sessions (every authorize
// request shows a page, and prompt=none always answers login_required),
// response modes other than query, the implicit and hybrid flows, PKCE
// "plain", client credentials, the token response with JSON numbers and its
// expires_on and resource fields (access-tokens.md), federated identity
// providers (so no idp claim), and c_hash and at_hash.
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PolicyKind is the kind of user flow a policy runs.
type PolicyKind int

const (
	// SignUpSignIn is the classic sign-up/sign-in flow: "Forgot your
	// password?" sends the user back with AADB2C90118.
	SignUpSignIn PolicyKind = iota
	// SignUpSignInWithReset is B2C's "recommended" sign-up/sign-in flow
	// with the password reset embedded; it never sends AADB2C90118.
	SignUpSignInWithReset
	// ProfileEdit signs the user in, then lets them change their names.
	ProfileEdit
	// PasswordReset lets the user pick a new password, then signs them in.
	PasswordReset
)

// Policy is a user flow, named as configured, e.g. "B2C_1_signupsignin1".
type Policy struct {
	Name string
	Kind PolicyKind

	// PolicyClaim names the claim that carries the policy ID in tokens, per
	// the tenant's "claim representing policy ID" setting: "tfp" (default when
	// empty), "acr", or "none" — a custom policy whose JWT issuer technical
	// profile sets AuthenticationContextReferenceClaimPattern=None and has no
	// trustFrameworkPolicy output claim (jwt-issuer-technical-profile.md).
	PolicyClaim string
	// ApplicationClaims, when non-nil, are the claims the user flow returns,
	// from: "emails", "name", "given_name", "family_name", "oid", "idp",
	// "newUser"; the others are left out of ID tokens (application claims are
	// opt-in per user flow). nil returns them all, as today. The emulator's
	// users are local accounts, which have no identity provider, so "idp" is
	// accepted but never issued. Access tokens follow the same choice, as B2C
	// puts the user flow's claims in both (access-tokens.md).
	ApplicationClaims []string
	// LegacySubject makes sub the constant "Not supported currently. Use oid
	// claim." (tokens-overview.md, the subject claim of older policies).
	LegacySubject bool
}

// applicationClaims are the claims Policy.ApplicationClaims may name, in the
// order discovery lists them.
var applicationClaims = []string{"oid", "name", "given_name", "family_name", "emails", "newUser", "idp"}

// legacySubject is the sub of every token of a policy with LegacySubject.
const legacySubject = "Not supported currently. Use oid claim."

// policyClaim is the name of the claim carrying the policy ID, "" for none.
func (p Policy) policyClaim() string {
	switch p.PolicyClaim {
	case "", "tfp":
		return "tfp"
	case "acr":
		return "acr"
	}
	return ""
}

// returns reports whether the user flow returns an application claim.
func (p Policy) returns(claim string) bool {
	return p.ApplicationClaims == nil || slices.Contains(p.ApplicationClaims, claim)
}

// Client is a registered confidential application. RedirectURIs must match
// the authorize request exactly; a post_logout_redirect_uri is accepted when
// it has the same origin (scheme, host and port) as one of them.
type Client struct {
	ID, Secret   string
	RedirectURIs []string

	// GrantedScopes, when non-nil, are the full API scopes consented for the
	// app; a token request that asks for others succeeds as long as at least
	// one is granted, with the others left out of the response's scope
	// (access-tokens.md); none granted gives the documented error.
	GrantedScopes []string
}

// User is a local account. Password may be empty: the user can then sign in
// only with the one-click button on the sign-in page.
type User struct {
	ObjectID, Email, Name, GivenName, FamilyName, Password string
}

// API is a protected web API. A full scope is AppIDURI + "/" + scope; its
// access tokens carry aud = ClientID and scp = the short scopes, space-joined.
type API struct {
	AppIDURI string
	ClientID string
	Scopes   []string
}

// Config configures Start. Only Tenant is required.
type Config struct {
	Tenant   string // "contoso" serves "contoso.onmicrosoft.com" in paths
	TenantID string // GUID in the issuer and client_info; generated when empty
	Policies []Policy
	Clients  []Client
	Users    []User // listed on the sign-in page
	APIs     []API

	AccessTokenLifetime  time.Duration // default 1h
	IDTokenLifetime      time.Duration // default 1h
	RefreshTokenLifetime time.Duration // default 14 days, B2C's default

	// RefreshTokenReuseDetection makes a refresh token that was already
	// exchanged fail with invalid_grant and revokes every token of its family
	// (RFC 9700 §4.14.2). When false, a rotated refresh token stays valid
	// until it expires.
	RefreshTokenReuseDetection bool

	Now func() time.Time // default time.Now; drives every token time and check

	// StrictLogout applies B2C's rule for a logout request with
	// id_token_hint: post_logout_redirect_uri must match a redirect URI
	// registered for the application the hint was issued to, "otherwise an
	// error message is displayed and the user is not redirected"
	// (openid-connect.md, "Secure your logout redirect"); and an expired hint
	// is refused with the error code error-codes.md lists for it. External ID
	// mode has a rule of its own and ignores this one (externalid_logout.go).
	StrictLogout bool

	// CustomDomain is a second host name, such as "127.0.0.1", that serves the
	// same endpoints on a TLS listener of its own (its certificate names it);
	// requests through it get discovery documents, endpoints and issuers on
	// that host (custom-domain.md).
	CustomDomain string
	// CustomDomainAddr is the listen address of the CustomDomain listener;
	// default CustomDomain:0 when CustomDomain is an IP address, else
	// 127.0.0.1:0 (the name is then advertised, and clients must resolve it
	// to the loopback address themselves).
	CustomDomainAddr string

	// ExternalID makes the tenant a Microsoft Entra External ID tenant
	// instead of a B2C one: authorities https://{host}/{tenant ID} and
	// https://{host}/{tenant}.onmicrosoft.com with no policy segment; one
	// sign-up/sign-in user flow attached to the application (the first Policy of
	// kind SignUpSignInWithReset, or implicitly one when Policies is empty),
	// password reset inside it; no profile-edit flow; ID and access tokens with
	// tid and without tfp/acr; errors as AADSTS codes.
	ExternalID bool

	// Listen addresses; default "127.0.0.1:0" each. In External ID mode the
	// TLS listener must be reachable as 127.0.0.1, the host of the issuer.
	TLSAddr, BrowserAddr, APIAddr string

	Logger *slog.Logger // default discards
}

// Request is one entry of the request log.
type Request struct {
	Time      time.Time
	Endpoint  string // discovery, keys, authorize, login, token, logout, api; "" when no route matched
	Policy    string // lower-cased, as in the path
	GrantType string
	ClientID  string
	Status    int
}

// Server is a running emulator.
type Server struct {
	cfg          Config
	log          *slog.Logger
	tenantDomain string
	caPEM        []byte
	tlsHost      string // localhost:PORT
	tlsIPHost    string // 127.0.0.1:PORT, the External ID issuer's host
	flow         Policy // External ID mode: the application's user flow
	browserURL   string // http://localhost:PORT
	apiURL       string // http://127.0.0.1:PORT/
	customHost   string // CustomDomain:PORT, "" without one
	servers      []*http.Server
	issuerForm   atomic.Int32

	mu       sync.Mutex
	keys     []*signingKey // the signing key first, then the previous one
	users    []User
	pending  map[string]*pendingAuth
	codes    map[string]*authCode
	refresh  map[string]*refreshToken
	revoked  map[string]bool // refresh-token families
	requests []Request
	issued   []string // codes and tokens, oldest first
	breakOne bool     // the next successful token response is unparsable
	// nextDiscovery, when set, is the next discovery request's answer.
	nextDiscovery []byte
}

// IssuerForm is the form of the issuer (iss) a tenant puts in tokens and
// discovery: the portal's "Issuer (iss) claim" setting (tokens-overview.md,
// Compatibility) or a custom policy's IssuanceClaimPattern
// (jwt-issuer-technical-profile.md).
type IssuerForm int

const (
	// IssuerTenantID is https://{host}/{tenantID}/v2.0/, B2C's default
	// (AuthorityAndTenantGuid).
	IssuerTenantID IssuerForm = iota
	// IssuerTFP is https://{host}/tfp/{tenantID}/{policy}/v2.0/, the policy
	// in lower case as in the documented example (AuthorityWithTfp).
	IssuerTFP
)

// Start generates the CA, the TLS certificate and a signing key, and starts
// the three listeners.
func Start(cfg Config) (*Server, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		tenantDomain: cfg.Tenant + ".onmicrosoft.com",
		users:        append([]User(nil), cfg.Users...),
		pending:      make(map[string]*pendingAuth),
		codes:        make(map[string]*authCode),
		refresh:      make(map[string]*refreshToken),
		revoked:      make(map[string]bool),
	}
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	s.keys = []*signingKey{key}
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	s.caPEM = ca.pem
	cert, err := ca.serverCertificate("localhost", "127.0.0.1", "::1")
	if err != nil {
		return nil, err
	}
	var customCert tls.Certificate
	addrs := []string{cfg.TLSAddr, cfg.BrowserAddr, cfg.APIAddr}
	if cfg.CustomDomain != "" {
		if customCert, err = ca.serverCertificate(cfg.CustomDomain); err != nil {
			return nil, err
		}
		addrs = append(addrs, cfg.CustomDomainAddr)
	}

	var lns []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("emulator: listen on %q: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	s.tlsHost = "localhost:" + port(lns[0])
	s.tlsIPHost = "127.0.0.1:" + port(lns[0])
	s.browserURL = "http://localhost:" + port(lns[1])
	s.apiURL = "http://127.0.0.1:" + port(lns[2]) + "/"
	if cfg.CustomDomain != "" {
		s.customHost = net.JoinHostPort(cfg.CustomDomain, port(lns[3]))
	}

	oauthRoutes := func(mux *http.ServeMux) {
		mux.Handle("GET /{tenant}/{policy}/v2.0/.well-known/openid-configuration", s.policyRoute("discovery", s.discovery))
		mux.Handle("GET /{tenant}/{policy}/discovery/v2.0/keys", s.policyRoute("keys", s.jwks))
		mux.Handle("POST /{tenant}/{policy}/oauth2/v2.0/token", s.policyRoute("token", s.token))
	}
	browserRoutes := func(mux *http.ServeMux) {
		mux.Handle("GET /{tenant}/{policy}/oauth2/v2.0/authorize", s.policyRoute("authorize", s.authorize))
		mux.Handle("POST /{tenant}/{policy}/login", s.policyRoute("login", s.login))
		mux.Handle("GET /{tenant}/{policy}/oauth2/v2.0/logout", s.policyRoute("logout", s.logout))
	}
	tlsMux := http.NewServeMux()
	browserMux := http.NewServeMux()
	if cfg.ExternalID {
		s.flow = externalIDFlow(cfg.Policies)
		s.externalIDRoutes(tlsMux, browserMux)
	} else {
		oauthRoutes(tlsMux)
		browserRoutes(browserMux)
	}
	tlsMux.HandleFunc("/", notFound)
	browserMux.HandleFunc("/", notFound)

	apiMux := http.NewServeMux()
	apiMux.Handle("GET /{$}", s.route("api", http.HandlerFunc(s.api)))
	apiMux.HandleFunc("/", notFound)

	errorLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	tlsSrv := &http.Server{Handler: s.logRequests(tlsMux), ErrorLog: errorLog, ReadHeaderTimeout: 10 * time.Second}
	tlsSrv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	browserSrv := &http.Server{Handler: s.logRequests(browserMux), ErrorLog: errorLog, ReadHeaderTimeout: 10 * time.Second}
	apiSrv := &http.Server{Handler: s.logRequests(apiMux), ErrorLog: errorLog, ReadHeaderTimeout: 10 * time.Second}
	s.servers = []*http.Server{tlsSrv, browserSrv, apiSrv}

	go s.serve(func() error { return tlsSrv.ServeTLS(lns[0], "", "") })
	go s.serve(func() error { return browserSrv.Serve(lns[1]) })
	go s.serve(func() error { return apiSrv.Serve(lns[2]) })
	if s.customHost != "" {
		// Every endpoint, the pages too: behind a custom domain the browser
		// stays on it (custom-domain.md, Configure your application).
		customMux := http.NewServeMux()
		oauthRoutes(customMux)
		browserRoutes(customMux)
		customMux.HandleFunc("/", notFound)
		customSrv := &http.Server{Handler: s.logRequests(viaCustomDomain(customMux)), ErrorLog: errorLog, ReadHeaderTimeout: 10 * time.Second}
		customSrv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{customCert}, MinVersion: tls.VersionTLS12}
		s.servers = append(s.servers, customSrv)
		go s.serve(func() error { return customSrv.ServeTLS(lns[3], "", "") })
	}
	if cfg.ExternalID {
		s.log.Info("b2c emulator started in External ID mode", "authority", s.ExternalIDAuthority(false), "issuer", s.ExternalIDIssuer(), "browser", s.browserURL, "api", s.apiURL)
	} else {
		s.log.Info("b2c emulator started", "authority", s.Authority("{policy}"), "browser", s.browserURL, "api", s.apiURL, "custom_domain", s.customHost)
	}
	return s, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.Tenant == "" {
		return cfg, errors.New("emulator: Config.Tenant is required")
	}
	seen := make(map[string]bool)
	for _, p := range cfg.Policies {
		name := strings.ToLower(p.Name)
		if name == "" || seen[name] {
			return cfg, fmt.Errorf("emulator: policy name %q is empty or repeated", p.Name)
		}
		seen[name] = true
		switch p.PolicyClaim {
		case "", "tfp", "acr", "none":
		default:
			return cfg, fmt.Errorf("emulator: policy %q: PolicyClaim %q is not tfp, acr or none", p.Name, p.PolicyClaim)
		}
		for _, c := range p.ApplicationClaims {
			if !slices.Contains(applicationClaims, c) {
				return cfg, fmt.Errorf("emulator: policy %q: unknown application claim %q", p.Name, c)
			}
		}
	}
	if cfg.ExternalID {
		if len(cfg.Policies) > 0 && !slices.ContainsFunc(cfg.Policies, func(p Policy) bool { return p.Kind == SignUpSignInWithReset }) {
			return cfg, errors.New("emulator: External ID mode needs a Policy of kind SignUpSignInWithReset, or no Policies")
		}
		if cfg.CustomDomain != "" {
			return cfg, errors.New("emulator: CustomDomain is not supported in External ID mode")
		}
	}
	if cfg.TenantID == "" {
		cfg.TenantID = newUUID()
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = time.Hour
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = time.Hour
	}
	if cfg.RefreshTokenLifetime == 0 {
		cfg.RefreshTokenLifetime = 14 * 24 * time.Hour
		if cfg.ExternalID {
			// "90 days for all other scenarios" (refresh-tokens.md, Token lifetime).
			cfg.RefreshTokenLifetime = 90 * 24 * time.Hour
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, addr := range []*string{&cfg.TLSAddr, &cfg.BrowserAddr, &cfg.APIAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
	}
	if cfg.CustomDomain != "" && cfg.CustomDomainAddr == "" {
		cfg.CustomDomainAddr = "127.0.0.1:0"
		if net.ParseIP(cfg.CustomDomain) != nil {
			cfg.CustomDomainAddr = net.JoinHostPort(cfg.CustomDomain, "0")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func (s *Server) serve(serve func() error) {
	if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("b2c emulator listener stopped", "err", err)
	}
}

func port(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// Close stops the listeners.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// Authority is the MSAL authority of a policy, on the TLS listener. External
// ID tenants have no policy: see ExternalIDAuthority.
func (s *Server) Authority(policy string) string {
	return "https://" + s.tlsHost + "/" + s.tenantDomain + "/" + policy
}

// TLSHost is the host:port of the TLS listener, as "localhost:PORT".
func (s *Server) TLSHost() string { return s.tlsHost }

// CACertPEM is the PEM of the CA that signed the TLS certificate.
func (s *Server) CACertPEM() []byte { return s.caPEM }

// BrowserURL is the origin of the browser-facing pages, "http://localhost:PORT".
func (s *Server) BrowserURL() string { return s.browserURL }

// APIURL is the URL of the protected API stand-in, "http://127.0.0.1:PORT/".
func (s *Server) APIURL() string { return s.apiURL }

// Issuer is the iss of tokens issued through the TLS listener in B2C's
// default form, IssuerTenantID: the tenant GUID and no policy. PolicyIssuer
// gives the issuer of any form and host.
func (s *Server) Issuer() string {
	return "https://" + s.tlsHost + "/" + s.cfg.TenantID + "/v2.0/"
}

// SetIssuerForm switches the issuer the tenant puts in tokens and discovery,
// as the portal's "Issuer (iss) claim" setting does (tokens-overview.md).
// Tokens issued before keep theirs. B2C only: an External ID tenant has one
// issuer, ExternalIDIssuer.
func (s *Server) SetIssuerForm(f IssuerForm) { s.issuerForm.Store(int32(f)) }

// PolicyIssuer is the iss of the tokens of a policy issued through host (a
// host:port, TLSHost or CustomDomainHost), in the current issuer form.
func (s *Server) PolicyIssuer(host, policy string) string {
	return s.issuer(IssuerForm(s.issuerForm.Load()), host, policy)
}

func (s *Server) issuer(f IssuerForm, host, policy string) string {
	if f == IssuerTFP {
		return "https://" + host + "/tfp/" + s.cfg.TenantID + "/" + strings.ToLower(policy) + "/v2.0/"
	}
	return "https://" + host + "/" + s.cfg.TenantID + "/v2.0/"
}

// knownIssuer reports whether iss is one the emulator issues, in either form,
// through either TLS host, or in External ID mode its one issuer.
func (s *Server) knownIssuer(iss string) bool {
	if s.cfg.ExternalID {
		return iss == s.ExternalIDIssuer()
	}
	for _, host := range []string{s.tlsHost, s.customHost} {
		if host == "" {
			continue
		}
		if iss == s.issuer(IssuerTenantID, host, "") {
			return true
		}
		for _, p := range s.cfg.Policies {
			if iss == s.issuer(IssuerTFP, host, p.Name) {
				return true
			}
		}
	}
	return false
}

// CustomDomainHost is the host:port of the CustomDomain listener, "" without
// one.
func (s *Server) CustomDomainHost() string { return s.customHost }

// AuthorityByTenantID is https://{host}/{tenantID}/{policy}: the tenant-ID
// path form custom-domain.md documents ("Use tenant ID"). Every endpoint is
// served under /{tenantID}/{policy}/ as well as under
// /{tenant}.onmicrosoft.com/{policy}/.
func (s *Server) AuthorityByTenantID(host, policy string) string {
	return "https://" + host + "/" + s.cfg.TenantID + "/" + policy
}

// BreakNextTokenResponse makes the next token response that would succeed a
// 200 whose body MSAL Go cannot parse (expires_in is an object) while it
// still holds an access token, an ID token and a refresh token, all real and
// listed by Issued, so a test can prove the app never logs MSAL's error
// text, which quotes the body.
func (s *Server) BreakNextTokenResponse() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakOne = true
}

// Issued returns every authorization code, access token, ID token and
// refresh token issued so far, oldest first, for tests that grep logs. The
// list only grows, by a few kilobytes per sign-in.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// recordLocked adds codes or tokens to Issued. The caller holds s.mu.
func (s *Server) recordLocked(values ...string) {
	for _, v := range values {
		if v != "" {
			s.issued = append(s.issued, v)
		}
	}
}

// TenantID is the tenant GUID, generated at Start when Config.TenantID is empty.
func (s *Server) TenantID() string { return s.cfg.TenantID }

// Users returns the current users, with sign-ups and profile edits applied.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User(nil), s.users...)
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

type recordKey struct{}

type customDomainKey struct{}

// viaCustomDomain marks the requests of the CustomDomain listener.
func viaCustomDomain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), customDomainKey{}, true)))
	})
}

// oauthHost is the host:port the endpoints MSAL calls have for a request:
// the custom domain's for a request through it, else the TLS listener's.
func (s *Server) oauthHost(r *http.Request) string {
	if custom, _ := r.Context().Value(customDomainKey{}).(bool); custom {
		return s.customHost
	}
	return s.tlsHost
}

// browserOrigin is the origin of the pages for a request: the custom
// domain's for a request through it, else the browser listener's.
func (s *Server) browserOrigin(r *http.Request) string {
	if custom, _ := r.Context().Value(customDomainKey{}).(bool); custom {
		return "https://" + s.customHost
	}
	return s.browserURL
}

// logRequests appends every request to the request log once it is answered.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{Time: s.now()}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
		next.ServeHTTP(sw, r)

		rec.Status = sw.status
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		if r.Form != nil { // parsed by the handler
			rec.GrantType = r.Form.Get("grant_type")
			rec.ClientID = r.Form.Get("client_id")
		}
		if id, _, ok := r.BasicAuth(); ok {
			rec.ClientID, _ = url.QueryUnescape(id)
		}
		s.mu.Lock()
		s.requests = append(s.requests, *rec)
		s.mu.Unlock()
		// Never log the query or the body: they carry codes and tokens.
		s.log.Info("b2c emulator request", "endpoint", rec.Endpoint, "policy", rec.Policy,
			"method", r.Method, "status", rec.Status, "client_id", rec.ClientID, "grant_type", rec.GrantType)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route names the endpoint in the request log.
func (s *Server) route(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := r.Context().Value(recordKey{}).(*Request); ok {
			rec.Endpoint = endpoint
			rec.Policy = strings.ToLower(r.PathValue("policy"))
		}
		next.ServeHTTP(w, r)
	})
}

// policyRoute resolves the {tenant} and {policy} path segments, ignoring
// case as B2C does (MSAL lowercases the authority), and answers 404 for
// unknown ones. The tenant is its onmicrosoft.com domain or its ID.
func (s *Server) policyRoute(endpoint string, h func(http.ResponseWriter, *http.Request, Policy)) http.Handler {
	return s.route(endpoint, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, name := r.PathValue("tenant"), r.PathValue("policy")
		p, ok := s.policy(name)
		if !ok || !strings.EqualFold(tenant, s.tenantDomain) && !strings.EqualFold(tenant, s.cfg.TenantID) {
			writeJSON(w, http.StatusNotFound, s.b2cError("invalid_request",
				"AADB2C90022: Unable to return metadata for the policy '%s' in tenant '%s'.", name, tenant))
			return
		}
		h(w, r, p)
	}))
}

func (s *Server) policy(name string) (Policy, bool) {
	for _, p := range s.cfg.Policies {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Policy{}, false
}

func (s *Server) client(id string) (Client, bool) {
	for _, c := range s.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, oauthError{Code: "not_found", Description: "No such endpoint."})
}

// oauthError is an OAuth error response body (RFC 6749 §5.2). B2C sends
// error and error_description only; the fields after them are the identity
// platform's (reference-error-codes.md, Handling error codes in your
// application), set by aadstsError in External ID mode.
type oauthError struct {
	Code          string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	URI           string `json:"error_uri,omitempty"`
	SubError      string `json:"suberror,omitempty"`
}

// b2cError formats a B2C error description: the AADB2C message followed,
// as B2C does, by a correlation ID and a timestamp, so apps must look for the
// code rather than compare whole strings.
func (s *Server) b2cError(code, format string, args ...any) *oauthError {
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...) +
		"\r\nCorrelation ID: " + newUUID() + "\r\nTimestamp: " + s.now().UTC().Format("2006-01-02 15:04:05Z") + "\r\n"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// addQuery returns u with v added to its query, keeping the query it has
// (RFC 6749 §3.1.2).
func addQuery(u string, v url.Values) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	for k, vs := range v {
		q[k] = append(q[k], vs...)
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}
