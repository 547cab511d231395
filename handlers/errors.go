package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// pageError is a failure as a visitor reads it: what happened, and whether
// signing in again helps. The web layer owns this copy; the auth package
// reports only a Kind.
type pageError struct {
	Status      int
	Title       string
	Detail      string
	Code        string // B2C's error code, such as AADB2C90080
	Description string // B2C's error description
	SignInAgain bool
	err         error // the cause, for the log only
}

func (e *pageError) Error() string {
	if e.err != nil {
		return e.Title + ": " + e.err.Error()
	}
	return e.Title
}

func (e *pageError) Unwrap() error { return e.err }

// misconfigured is what a visitor sees of the operator's mistake; the log
// names the setting.
var misconfigured = pageError{Title: "This site is misconfigured",
	Detail: "Sign-in cannot work until the site's operator corrects its settings. The details are in the site's log."}

// failureCopy words each kind of auth failure.
var failureCopy = map[auth.Kind]pageError{
	auth.BadResponse:    {Title: "Sign-in failed", Detail: "The sign-in response carries neither a valid state nor a code. Start again from the sign-in link.", SignInAgain: true},
	auth.SignInExpired:  {Title: "Sign-in expired", Detail: "This sign-in took longer than 10 minutes or was already used.", SignInAgain: true},
	auth.BindingMissing: {Title: "Sign-in cookie missing", Detail: "Your browser sent no cookie of this sign-in: cookies may be blocked for this site, or the sign-in was started in another browser.", SignInAgain: true},
	auth.BindingMismatch: {Title: "Sign-in started elsewhere",
		Detail: "This sign-in response belongs to a sign-in started in another browser, so it was refused.", SignInAgain: true},
	auth.Rejected:             {Title: "Sign-in failed", Detail: "The sign-in response was not accepted.", SignInAgain: true},
	auth.ProviderError:        {Title: "Sign-in failed", Detail: "Azure AD B2C reported an error.", SignInAgain: true},
	auth.ProfileEditEnded:     {Title: "Profile edit failed", Detail: "The session that started this profile edit has ended.", SignInAgain: true},
	auth.ProfileEditOtherUser: {Title: "Profile edit failed", Detail: "The profile edit came back for another user.", SignInAgain: true},
	auth.ProfileEditOff:       {Title: "Profile editing is off", Detail: "No profile-editing user flow is configured."},
	auth.SignInRequired:       {Title: "Sign-in required", Detail: "Please sign in first.", SignInAgain: true},
	auth.StorageUnavailable:   {Title: "Service unavailable", Detail: "Sessions cannot be reached right now. Your session is kept; please try again in a moment."},
	auth.StorageBusy:          {Title: "Busy", Detail: "Another request changed your session at the same moment. Please try again."},
	auth.TokenCacheTooLarge: {Title: "Token cache too large",
		Detail: "Your tokens are larger than one session can store, so they were not saved. Please sign in again; if this repeats, the app asks for too many scopes.", SignInAgain: true},
	auth.ProviderUnreachable: {Title: "Sign-in service unreachable", Detail: "Azure AD B2C could not be reached. Please try again in a moment."},
	auth.Misconfigured:       misconfigured,
}

var internalError = pageError{Status: http.StatusInternalServerError, Title: "Something went wrong", Detail: "The request could not be completed. Please try again."}

// localDevelopment adds what only a developer on http://localhost needs to
// know to a missing binding cookie.
const localDevelopment = " On http://localhost, Safari drops Secure cookies: use Chrome, Edge or Firefox."

// pageErrorOf turns any error into the page that shows it.
func (s *server) pageErrorOf(err error) *pageError {
	if pe, ok := errors.AsType[*pageError](err); ok {
		return pe
	}
	f, ok := errors.AsType[*auth.Failure](err)
	if !ok {
		e := internalError
		e.err = err
		return &e
	}
	e, ok := failureCopy[f.Kind]
	if !ok {
		e = internalError
	}
	e.Status, e.Code, e.Description, e.err = f.Kind.Status(), f.Code, f.Description, err
	if f.Kind == auth.BindingMissing && s.localhost {
		e.Detail += localDevelopment
	}
	if f.Kind == auth.Misconfigured && f.Description != "" {
		// Scopes not granted: naming them and their setting helps whoever
		// reports the page to the operator, and reveals nothing secret.
		e.Description = f.Description + " (" + settingName(f.Setting) + ")"
	}
	return &e
}

// settingName is how the operator sets a Config field: its environment
// variable.
func settingName(field string) string {
	if env := auth.EnvName(field); env != "" {
		return env
	}
	return field
}

// renderError is the one place errors become pages. The visitor sees what
// happened in words; the cause goes to the log, never to the page.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.pageErrorOf(err)
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"status", e.Status, "err", err}
	if f, ok := errors.AsType[*auth.Failure](err); ok {
		// Stable fields an alert can count by: the kind of failure and,
		// for the operator's mistakes, the setting to fix.
		attrs = append(attrs, "kind", f.Kind.String())
		if f.Code != "" {
			attrs = append(attrs, "code", f.Code)
		}
		if f.Kind == auth.Misconfigured {
			level = slog.LevelError
			attrs = append(attrs, "setting", settingName(f.Setting))
		}
	}
	s.log.Log(r.Context(), level, "request failed", attrs...)
	p := s.newPage(r)
	p.Error = e
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	s.render(w, r, e.Status, "auth_error", p)
}
