package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// Cookie names. The __Host- prefix makes the browser insist on Secure,
// Path=/ and no Domain, so no sibling subdomain can plant or read them. A
// sign-in under way keeps its state in a cookie of its own, named with
// PendingCookiePrefix, for up to 10 minutes.
const (
	SessionCookie       = "__Host-session"
	PendingCookiePrefix = "__Host-signin-"
)

// Service signs users in and out and loads their sessions.
type Service struct {
	cfg   Config
	b2c   *b2c.Client
	store *session.Store
	// tokens merges the AccessToken calls of one session and scopes made at
	// once.
	tokens singleflight.Group
	memo   tokenMemo
}

// New returns a Service for cfg. It does no I/O, so a cold start answers at
// once; errors are *ConfigError values naming the field.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := b2c.New(b2c.Config{
		Tenant:       b2c.Tenant{Name: cfg.TenantName, Host: cfg.TenantHost, ID: cfg.TenantID, ExternalID: cfg.ExternalID},
		PolicyClaim:  cfg.PolicyClaim,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Policies:     []string{cfg.SignUpSignInPolicy, cfg.ProfileEditPolicy, cfg.PasswordResetPolicy},
		HTTPClient:   cfg.HTTPClient,
		Now:          cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	store := session.NewStore(cfg.Table, session.Options{
		IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout, Now: cfg.Now,
		// The one secret every instance of the app already shares: the
		// sign-in cookies are keyed with it, so no one else can make one.
		PendingKey: []byte(cfg.ClientSecret),
	})
	return &Service{cfg: cfg, b2c: client, store: store}, nil
}

// User is the signed-in user of a request.
type User struct {
	Claims Claims

	sess *session.Session
	data sessionData
	// loaded is when the session row was read and found live.
	loaded time.Time
}

// sessionData is what a session stores, encrypted. It is written with
// marshal only: its JSON tags read sessions written before payloadV1, and
// JSON would write a cut IDToken as if it were whole.
type sessionData struct {
	// Claims are the verified ID token's claims as JSON, and Profile the
	// fields of auth.Claims decoded from them at sign-in: a page view
	// decodes a handful of strings, not every claim. A session written
	// before Profile existed gets one on load.
	Claims  json.RawMessage `json:"claims"`
	Profile *Claims         `json:"profile,omitempty"`
	// IDTokenExpires is IDToken's exp, in Unix seconds (0: unknown): a
	// profile edit replaces the claims, not the token sent as a hint.
	IDTokenExpires int64 `json:"idTokenExp,omitempty"`
	// Policy is the user flow that signed the user in; its end-session
	// endpoint signs them out.
	Policy string `json:"policy"`
	// AccountID is MSAL's home account that serves API calls, and
	// APIPolicy the user flow whose authority that account belongs to.
	AccountID string `json:"account"`
	APIPolicy string `json:"apiPolicy"`
	// IDToken is the token as stored: without its payload segment when
	// idTokenCut, which idToken puts back only when the token is sent.
	IDToken    string `json:"idToken"`
	idTokenCut bool
}

// withClaims sets the claims of a verified ID token, as JSON.
func (d *sessionData) withClaims(raw json.RawMessage) error {
	if !json.Valid(raw) {
		return errors.New("auth: the ID token's claims are not JSON")
	}
	// A cut token is put back from the claims it was issued with, before
	// new claims (a profile edit's) replace them.
	d.IDToken, d.idTokenCut = d.idToken(), false
	profile := claimsFrom(raw)
	d.Claims, d.Profile = raw, &profile
	return nil
}

// withIDToken sets the ID token sent as id_token_hint, with its claims'
// exp.
func (d *sessionData) withIDToken(token string, claims map[string]any) {
	exp, _ := claims["exp"].(float64)
	d.IDToken, d.idTokenCut, d.IDTokenExpires = token, false, int64(exp)
}

// idToken is the ID token whole.
func (d *sessionData) idToken() string {
	if !d.idTokenCut {
		return d.IDToken
	}
	token, _ := restoreTokenPayload(d.IDToken, d.Claims) // its shape was checked when read
	return token
}

func decodeSessionData(b []byte) (sessionData, error) {
	if len(b) > 0 && b[0] != '{' {
		return unmarshalPayload(b)
	}
	var d sessionData // JSON, as versions before payloadV1 wrote it
	if err := json.Unmarshal(b, &d); err != nil {
		return d, err
	}
	if d.Profile == nil { // written before sessions kept a profile
		var claims map[string]any
		if err := json.Unmarshal(d.Claims, &claims); err != nil {
			return d, err
		}
		d.withIDToken(d.IDToken, claims)
		return d, d.withClaims(d.Claims)
	}
	return d, nil
}

// claims returns the session's claims, with Raw set.
func (d *sessionData) claims() Claims {
	c := *d.Profile
	c.Raw = d.Claims
	return c
}

type userKey struct{}

// UserFrom returns the signed-in user, if any.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok
}

// Sessions loads the session named by the cookie, if any, and puts its user
// in the request context. A request without a cookie costs no storage call.
// An unknown, expired or undecryptable cookie is cleared: the visitor is
// simply signed out.
func (s *Service) Sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		user, err := s.load(r.Context(), c.Value)
		switch {
		case errors.Is(err, session.ErrNotFound):
			clearCookie(w, SessionCookie)
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) load(ctx context.Context, id string) (*User, error) {
	sess, err := s.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := decodeSessionData(sess.Data)
	if err != nil {
		return nil, session.ErrNotFound // written by another schema: start over
	}
	return &User{Claims: data.claims(), sess: sess, data: data, loaded: s.cfg.Now()}, nil
}

// RequireSignIn sends a signed-out visitor through sign-in and back to the
// page they asked for. It needs Sessions before it.
func (s *Service) RequireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, r, &Failure{Kind: SignInRequired})
			return
		}
		http.Redirect(w, r, s.cfg.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	})
}

// LocalPath returns p if it is a path on this site, else "/": a return path
// must never become an open redirect (//host, /\host, schemes).
func LocalPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	// Escaping can make a path host-relative again: "/%2F " is "//%20".
	if out := u.RequestURI(); !strings.HasPrefix(out, "//") && !strings.HasPrefix(out, "/\\") {
		return out
	}
	return "/"
}

func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, name string) { setCookie(w, name, "", -time.Second) }

// tokenScopes are the resource scopes asked for: the API's, or for a
// sign-in-only app what brings an access token, without which MSAL Go
// fails: B2C's convention, the app's own client ID.
func (s *Service) tokenScopes() []string {
	switch {
	case len(s.cfg.Scopes) > 0:
		return s.cfg.Scopes
	case s.cfg.ExternalID:
		// The identity platform takes a bare client ID for a Microsoft
		// Graph permission and refuses it (AADSTS70011); the OpenID
		// Connect scopes alone bring the access token MSAL requires, for
		// the UserInfo endpoint ("Scopes and permissions").
		return []string{"openid", "profile"}
	}
	return []string{s.cfg.ClientID}
}

// ProfileEditEnabled reports whether a profile-editing user flow is
// configured.
func (s *Service) ProfileEditEnabled() bool { return s.cfg.ProfileEditPolicy != "" }

// EnsureStorage creates the sessions table if it is missing, retrying with
// backoff until it succeeds or ctx ends. Run it in the background: the
// Functions host's readiness probe must not wait for storage.
func (s *Service) EnsureStorage(ctx context.Context) {
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		err := s.store.EnsureTable(ctx)
		if err == nil {
			return
		}
		s.cfg.Logger.Warn("creating the sessions table", "err", err, "retryIn", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// Ready reports whether the sign-in dependencies answer: the sessions table
// exists and can be reached, and the sign-up/sign-in user flow's discovery
// document can be had. The document comes from the cache sign-ins use, so
// however often Ready is called, B2C sees at most one discovery request per
// refresh: an anonymous probe must not spend the rate limit B2C keeps per
// client IP. Unlike a health check it does I/O, so it serves start-up
// scripts and smoke tests, not the host's liveness probe.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return &NotReadyError{Dependency: "session table", Err: err}
	}
	if _, err := s.b2c.Metadata(ctx, s.cfg.SignUpSignInPolicy); err != nil {
		return &NotReadyError{Dependency: "sign-in service", Err: err}
	}
	return nil
}

// NotReadyError names the dependency that Ready found not answering.
type NotReadyError struct {
	Dependency string
	Err        error
}

func (e *NotReadyError) Error() string {
	return "auth: " + e.Dependency + " not ready: " + e.Err.Error()
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// Sweep deletes expired sessions, token caches and pending sign-ins, and
// says how many rows it removed. Run it on a timer.
func (s *Service) Sweep(ctx context.Context) (int, error) { return s.store.Sweep(ctx) }
