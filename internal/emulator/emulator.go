// Package emulator is a local stand-in for an Azure AD B2C tenant and for a
// web API it protects. It serves OpenID Connect discovery, the signing keys,
// the authorization code flow with PKCE, the token endpoint and logout in the
// shapes B2C uses (path-form authority, tenant-GUID issuer, string times,
// client_info, AADB2C error codes), so that MSAL Go and go-oidc run against
// it unchanged.
//
// It listens three times: the OAuth endpoints MSAL calls (discovery, keys,
// token) on https with a certificate from a CA generated at Start; the pages a
// browser sees (authorize, the sign-in forms, logout) on plain
// http://localhost, so a browser test needs no certificate flags; and the
// protected API on plain http.
//
// Not supported, on purpose: single sign-on sessions (every authorize request
// shows a page, and prompt=none always answers login_required), response
// modes other than query, the implicit and hybrid flows, PKCE "plain", and
// client credentials.
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
	"strings"
	"sync"
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
}

// Client is a registered confidential application. RedirectURIs must match
// the authorize request exactly; a post_logout_redirect_uri is accepted when
// it has the same origin (scheme, host and port) as one of them.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
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

	// Listen addresses; default "127.0.0.1:0" each.
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
	browserURL   string // http://localhost:PORT
	apiURL       string // http://127.0.0.1:PORT/
	servers      []*http.Server

	mu       sync.Mutex
	keys     []*signingKey // the signing key first, then the previous one
	users    []User
	pending  map[string]*pendingAuth
	codes    map[string]*authCode
	refresh  map[string]*refreshToken
	revoked  map[string]bool // refresh-token families
	requests []Request
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
	caPEM, cert, err := newTLSCertificate()
	if err != nil {
		return nil, err
	}
	s.caPEM = caPEM

	var lns []net.Listener
	for _, addr := range []string{cfg.TLSAddr, cfg.BrowserAddr, cfg.APIAddr} {
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
	s.browserURL = "http://localhost:" + port(lns[1])
	s.apiURL = "http://127.0.0.1:" + port(lns[2]) + "/"

	tlsMux := http.NewServeMux()
	tlsMux.Handle("GET /{tenant}/{policy}/v2.0/.well-known/openid-configuration", s.policyRoute("discovery", s.discovery))
	tlsMux.Handle("GET /{tenant}/{policy}/discovery/v2.0/keys", s.policyRoute("keys", s.jwks))
	tlsMux.Handle("POST /{tenant}/{policy}/oauth2/v2.0/token", s.policyRoute("token", s.token))
	tlsMux.HandleFunc("/", notFound)

	browserMux := http.NewServeMux()
	browserMux.Handle("GET /{tenant}/{policy}/oauth2/v2.0/authorize", s.policyRoute("authorize", s.authorize))
	browserMux.Handle("POST /{tenant}/{policy}/login", s.policyRoute("login", s.login))
	browserMux.Handle("GET /{tenant}/{policy}/oauth2/v2.0/logout", s.policyRoute("logout", s.logout))
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
	s.log.Info("b2c emulator started", "authority", s.Authority("{policy}"), "browser", s.browserURL, "api", s.apiURL)
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
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, addr := range []*string{&cfg.TLSAddr, &cfg.BrowserAddr, &cfg.APIAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
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

// Authority is the MSAL authority of a policy, on the TLS listener.
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

// Issuer is the iss of every token: like B2C, the tenant GUID and no policy.
func (s *Server) Issuer() string {
	return "https://" + s.tlsHost + "/" + s.cfg.TenantID + "/v2.0/"
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
// unknown ones.
func (s *Server) policyRoute(endpoint string, h func(http.ResponseWriter, *http.Request, Policy)) http.Handler {
	return s.route(endpoint, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, name := r.PathValue("tenant"), r.PathValue("policy")
		p, ok := s.policy(name)
		if !ok || !strings.EqualFold(tenant, s.tenantDomain) {
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

// oauthError is an OAuth error response body (RFC 6749 §5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
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
