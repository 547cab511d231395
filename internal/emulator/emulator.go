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
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

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
