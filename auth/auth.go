// Package auth is the sign-in surface that pages use: middleware that loads
// the visitor's session, middleware that sends a signed-out visitor through
// sign-in and back, and accessors for the signed-in user. The sign-in
// machinery itself (B2C user flows, sessions in Table Storage) stays behind
// it.
//
//	mux.Handle("GET /reports", svc.RequireSignIn(reports))
//
//	func reports(w http.ResponseWriter, r *http.Request) {
//		user, _ := auth.UserFrom(r.Context())
//		fmt.Fprintf(w, "Hello, %s", user.Claims.Name)
//	}
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// Cookie names. The __Host- prefix makes the browser insist on Secure,
// Path=/ and no Domain, so no sibling subdomain can plant or read them.
const (
	SessionCookie = "__Host-session"
	BindingCookie = "__Host-signin-binding"
)

// Purposes of a pending sign-in.
const (
	purposeSignIn  = ""
	purposeProfile = "profile"
)

// Service signs users in and out and loads their sessions.
type Service struct {
	b2c     *b2c.Client
	store   *session.Store
	cfg     *config.Config
	log     *slog.Logger
	onError func(http.ResponseWriter, *http.Request, error)
}

func newService(b *b2c.Client, store *session.Store, cfg *config.Config, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{b2c: b, store: store, cfg: cfg, log: logger,
		onError: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, http.StatusText(StatusOf(err)), StatusOf(err))
		}}
}

// WithErrorHandler returns a copy of s whose middleware renders errors with
// h instead of a plain-text status.
func (s *Service) WithErrorHandler(h func(http.ResponseWriter, *http.Request, error)) *Service {
	c := *s
	c.onError = h
	return &c
}

// Error is a failure a visitor can understand: what happened, and whether
// signing in again helps. Err is the cause, for logs only.
type Error struct {
	Status      int
	Title       string
	Detail      string
	Code        string // B2C's error code, such as AADB2C90080
	Description string // B2C's error description
	SignInAgain bool
	Err         error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("auth: %s: %s", e.Title, e.Detail)
	if e.Code != "" {
		msg += fmt.Sprintf(" (%s)", e.Code)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// StatusOf is the HTTP status for err.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// wrapInfra turns failures of the session store or of B2C into errors a
// visitor can read; other errors pass unchanged.
func wrapInfra(err error) error {
	switch {
	case errors.Is(err, session.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Title: "Service unavailable",
			Detail: "Sessions cannot be reached right now. Your session is kept; please try again in a moment.", Err: err}
	case errors.Is(err, session.ErrStale):
		return &Error{Status: http.StatusServiceUnavailable, Title: "Busy",
			Detail: "Another request changed your session at the same moment. Please try again.", Err: err}
	case errors.Is(err, session.ErrTooLarge):
		return &Error{Status: http.StatusInternalServerError, Title: "Token cache too large",
			Detail: "Your tokens are larger than one session can store, so they were not saved. Please sign in again; if this repeats, the app asks for too many scopes.", SignInAgain: true, Err: err}
	case errors.Is(err, b2c.ErrUnreachable):
		return &Error{Status: http.StatusBadGateway, Title: "Sign-in service unreachable",
			Detail: "Azure AD B2C could not be reached. Please try again in a moment.", Err: err}
	}
	return err
}

// User is the signed-in user of a request.
type User struct {
	Claims b2c.Claims

	sess *session.Session
	data sessionData
}

// sessionData is what a session stores, encrypted.
type sessionData struct {
	Claims map[string]any `json:"claims"`
	// Policy is the user flow that signed the user in; its end-session
	// endpoint signs them out.
	Policy string `json:"policy"`
	// AccountID is MSAL's home account that serves API calls, and
	// APIPolicy the user flow whose authority that account belongs to.
	AccountID string `json:"account"`
	APIPolicy string `json:"apiPolicy"`
	IDToken   string `json:"idToken"`
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
			s.clearCookie(w, SessionCookie)
		case err != nil:
			s.onError(w, r, wrapInfra(err))
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
	u := &User{sess: sess}
	if err := json.Unmarshal(sess.Data, &u.data); err != nil {
		return nil, session.ErrNotFound // written by another schema: start over
	}
	u.Claims = b2c.ClaimsFrom(u.data.Claims)
	return u, nil
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
			s.onError(w, r, &Error{Status: http.StatusUnauthorized, Title: "Sign-in required", Detail: "Please sign in first.", SignInAgain: true})
			return
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
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
	return u.RequestURI()
}

func (s *Service) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// bindingHashMatches compares in constant time.
func bindingHashMatches(cookie string, hash []byte) bool {
	sum := sha256.Sum256([]byte(cookie))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// tokenScopes are the resource scopes asked for: the API's, or the app's
// own client ID, B2C's convention for a sign-in-only app, without which B2C
// returns no access token and MSAL Go fails.
func (s *Service) tokenScopes() []string {
	if len(s.cfg.APIScopes) > 0 {
		return s.cfg.APIScopes
	}
	return []string{s.cfg.ClientID}
}

// ProfileEditEnabled reports whether a profile-editing user flow is
// configured.
func (s *Service) ProfileEditEnabled() bool { return s.cfg.ProfileEditPolicy != "" }
