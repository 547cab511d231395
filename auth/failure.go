package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// A Kind is what went wrong, for the app's error pages to word. The package
// itself writes no copy for visitors.
type Kind int

const (
	// Internal is a failure of the package itself.
	Internal Kind = iota
	// BadResponse: the callback carries no state, or neither a code nor an
	// error.
	BadResponse
	// SignInExpired: the sign-in took longer than 10 minutes, its cookie
	// was altered, or its callback was already used.
	SignInExpired
	// BindingMissing: the browser sent no sign-in cookie at all: cookies
	// are blocked (Safari drops them on http://localhost), or the callback
	// was opened in a browser that started no sign-in.
	BindingMissing
	// BindingMismatch: the browser has sign-ins of its own under way, but
	// not this one: it was started in another browser (login CSRF, RFC 6749
	// §10.12), and was refused.
	BindingMismatch
	// Rejected: B2C or validation refused the code or the ID token; Err
	// says why.
	Rejected
	// ProviderError: B2C sent an error to the redirect URI; Code and
	// Description are B2C's.
	ProviderError
	// ProfileEditEnded: the session that started a profile edit has ended.
	ProfileEditEnded
	// ProfileEditOtherUser: a profile edit came back for another user.
	ProfileEditOtherUser
	// ProfileEditOff: no profile-editing user flow is configured.
	ProfileEditOff
	// SignInRequired: a request other than GET reached a page that needs a
	// signed-in user.
	SignInRequired
	// StorageUnavailable: Table Storage cannot be reached; the session is
	// kept.
	StorageUnavailable
	// StorageBusy: another request changed the session at the same moment.
	StorageBusy
	// TokenCacheTooLarge: the tokens exceed what one session stores.
	TokenCacheTooLarge
	// ProviderUnreachable: B2C cannot be reached.
	ProviderUnreachable
	// Misconfigured: the site's settings are wrong (an unknown user flow,
	// API scopes the app registration lacks, a table the identity may not
	// use). Err names the cause, for the operator's log.
	Misconfigured
)

var kindNames = [...]string{
	Internal: "internal error", BadResponse: "bad sign-in response", SignInExpired: "sign-in expired",
	BindingMissing: "sign-in cookie missing", BindingMismatch: "sign-in started elsewhere", Rejected: "sign-in rejected",
	ProviderError: "identity provider error", ProfileEditEnded: "profile edit session ended",
	ProfileEditOtherUser: "profile edit for another user", ProfileEditOff: "profile editing off",
	SignInRequired: "sign-in required", StorageUnavailable: "session storage unavailable", StorageBusy: "session busy",
	TokenCacheTooLarge: "token cache too large", ProviderUnreachable: "identity provider unreachable", Misconfigured: "misconfigured",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Status is the HTTP status that suits k.
func (k Kind) Status() int {
	switch k {
	case BadResponse, SignInExpired, BindingMissing, BindingMismatch, Rejected, ProviderError, ProfileEditEnded, ProfileEditOtherUser:
		return http.StatusBadRequest
	case SignInRequired:
		return http.StatusUnauthorized
	case ProfileEditOff:
		return http.StatusNotFound
	case StorageUnavailable, StorageBusy:
		return http.StatusServiceUnavailable
	case ProviderUnreachable:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// A Failure is how the package reports what went wrong. Err is the cause,
// for logs: it never holds a token, a code or a secret.
type Failure struct {
	Kind Kind
	Code string // B2C's error code, such as AADB2C90080
	// Description is B2C's error description, for Rejected the check that
	// failed, for Misconfigured the scopes not granted; safe to show, once
	// escaped.
	Description string
	// Setting is, for Misconfigured, the Config field to fix (EnvName
	// gives its environment variable).
	Setting string
	Err     error
}

func (f *Failure) Error() string {
	msg := "auth: " + f.Kind.String()
	if f.Code != "" {
		msg += fmt.Sprintf(" (%s)", f.Code)
	}
	if f.Err != nil {
		msg += ": " + f.Err.Error()
	}
	return msg
}

func (f *Failure) Unwrap() error { return f.Err }

// ErrSignInRequired reports that no token can be had without the user: no
// session, no cached account, or a refresh token B2C no longer accepts.
var ErrSignInRequired = errors.New("auth: sign-in required")

// failure classifies an error of the session store or of B2C; an error of
// another kind becomes an Internal failure.
func (s *Service) failure(err error) error {
	if _, ok := errors.AsType[*Failure](err); ok || errors.Is(err, ErrSignInRequired) {
		return err
	}
	kind := Internal
	switch {
	case errors.Is(err, session.ErrUnavailable):
		kind = StorageUnavailable
	case errors.Is(err, session.ErrStale):
		kind = StorageBusy
	case errors.Is(err, session.ErrTooLarge):
		kind = TokenCacheTooLarge
	case errors.Is(err, session.ErrRefused), errors.Is(err, b2c.ErrMisconfigured):
		kind = Misconfigured
	case errors.Is(err, b2c.ErrUnreachable):
		kind = ProviderUnreachable
	}
	if r, ok := errors.AsType[*b2c.RejectedError](err); ok {
		return &Failure{Kind: Rejected, Description: r.Reason, Err: err}
	}
	if d, ok := errors.AsType[*b2c.DeclinedScopesError](err); ok {
		return &Failure{Kind: Misconfigured, Setting: "Scopes", Description: "scopes not granted: " + strings.Join(d.Declined, " "), Err: err}
	}
	if m, ok := errors.AsType[*b2c.MisconfiguredError](err); ok {
		return &Failure{Kind: Misconfigured, Code: m.Code, Setting: s.fieldOf(m), Err: err}
	}
	return &Failure{Kind: kind, Err: err}
}

// fieldOf is the Config field a misconfiguration names: the one holding its
// user flow, when it is about one.
func (s *Service) fieldOf(m *b2c.MisconfiguredError) string {
	for field, policy := range map[string]string{"SignUpSignInPolicy": s.cfg.SignUpSignInPolicy, "ProfileEditPolicy": s.cfg.ProfileEditPolicy, "PasswordResetPolicy": s.cfg.PasswordResetPolicy} {
		if m.Policy != "" && strings.EqualFold(m.Policy, policy) {
			return field
		}
	}
	return m.Setting
}

// plainError is the ErrorHandler of a Config that sets none.
func plainError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if f, ok := errors.AsType[*Failure](err); ok {
		status = f.Kind.Status()
	}
	http.Error(w, http.StatusText(status), status)
}

// fail renders err through the ErrorHandler.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.ErrorHandler(w, r, s.failure(err))
}
