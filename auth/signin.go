package auth

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// B2C error codes the callback acts on.
const (
	codeForgotPassword    = "AADB2C90118" // the user clicked "Forgot your password?"
	codeCancelled         = "AADB2C90091" // the user cancelled a self-asserted page
	codeCancelledExternal = "AADB2C90273" // the user cancelled at an external IdP
)

// SignIn starts the sign-up/sign-in user flow and comes back to returnTo.
func (s *Service) SignIn(w http.ResponseWriter, r *http.Request, returnTo string) error {
	return s.start(w, r, b2c.NewFlow(s.cfg.SignUpSignInPolicy, LocalPath(returnTo), purposeSignIn))
}

// start stores a pending sign-in bound to this browser and redirects to the
// user flow. The binding cookie is reused while it lives, so two tabs can
// sign in at once.
func (s *Service) start(w http.ResponseWriter, r *http.Request, flow b2c.Flow) error {
	binding := rand.Text() // 128 random bits
	if c, err := r.Cookie(BindingCookie); err == nil && len(c.Value) == len(binding) {
		binding = c.Value
	}
	data, err := json.Marshal(flow)
	if err != nil {
		return err
	}
	// The URL first: when B2C cannot be reached, nothing is stored.
	state := session.NewState()
	u, err := s.b2c.AuthCodeURL(r.Context(), flow, state, s.cfg.RedirectURI(), s.tokenScopes())
	if err != nil {
		return wrapInfra(err)
	}
	if err := s.store.PutPending(r.Context(), state, data, binding); err != nil {
		return wrapInfra(err)
	}
	s.setCookie(w, BindingCookie, binding, session.PendingLifetime)
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// Callback completes a user flow at the redirect URI: it checks the state
// and the browser binding, handles B2C's errors, redeems the code, verifies
// the ID token, and only then creates the session. It answers with a 303 to
// a clean URL, so the code never stays in the browser's history.
func (s *Service) Callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in failed", Detail: "The sign-in response carries no state. Start again from the sign-in link.", SignInAgain: true}
	}
	data, bindingHash, err := s.store.TakePending(r.Context(), state)
	if errors.Is(err, session.ErrNotFound) {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in expired", Detail: "This sign-in response is unknown, expired (sign-ins last 10 minutes) or was already used.", SignInAgain: true}
	}
	if err != nil {
		return wrapInfra(err)
	}
	// Login CSRF (RFC 6749 §10.12, RFC 9700 §4.7.1): only the browser that
	// started this sign-in may finish it.
	c, err := r.Cookie(BindingCookie)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in cookie missing",
			Detail: "Your browser did not send back the cookie set when this sign-in started. Cookies may be blocked for this site, " +
				"or the browser drops Secure cookies on http://localhost (Safari does: use Chrome, Edge or Firefox for local development).", SignInAgain: true}
	}
	if !bindingHashMatches(c.Value, bindingHash) {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in started elsewhere",
			Detail: "This sign-in response belongs to a sign-in started in another browser, so it was refused.", SignInAgain: true}
	}
	var flow b2c.Flow
	if err := json.Unmarshal(data, &flow); err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		return s.b2cError(w, r, flow, e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in failed", Detail: "The sign-in response carries neither a code nor an error.", SignInAgain: true}
	}
	if flow.Purpose == purposeProfile {
		return s.completeProfileEdit(w, r, flow, code)
	}
	tc := tokencache.ForNewSession()
	res, err := s.b2c.Redeem(r.Context(), flow, code, s.cfg.RedirectURI(), s.tokenScopes(), tc)
	if err != nil {
		return redeemError(err)
	}
	sd := sessionData{Claims: res.Claims.Raw, Policy: flow.Policy, AccountID: res.AccountID, APIPolicy: flow.Policy, IDToken: res.IDToken}
	payload, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	sess, err := s.store.Create(r.Context(), payload, tc.Bytes())
	if err != nil {
		return wrapInfra(err)
	}
	// A new session ID on every sign-in (no session fixation); the old one
	// ends here.
	if old, ok := UserFrom(r.Context()); ok {
		if err := s.store.Delete(r.Context(), old.sess); err != nil {
			s.log.WarnContext(r.Context(), "deleting the previous session", "err", err)
		}
	}
	s.setCookie(w, SessionCookie, sess.ID, s.cfg.AbsoluteTimeout)
	s.log.InfoContext(r.Context(), "signed in", "policy", flow.Policy, "newUser", res.Claims.NewUser)
	http.Redirect(w, r, flow.ReturnTo, http.StatusSeeOther)
	return nil
}

func redeemError(err error) error {
	if errors.Is(err, b2c.ErrRejected) {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in failed", Detail: "The sign-in response was not accepted: " + rejectionReason(err), SignInAgain: true, Err: err}
	}
	return wrapInfra(err)
}

// rejectionReason is the part of a rejection safe to show: the validation
// failure, not MSAL's dump of the response.
func rejectionReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, b2c.ErrRejected.Error()+": ")
	if strings.HasPrefix(msg, "the code was not accepted") {
		return "the authorization code was not accepted."
	}
	return msg
}

// b2cError handles an error B2C sent to the redirect URI.
func (s *Service) b2cError(w http.ResponseWriter, r *http.Request, flow b2c.Flow, code, description string) error {
	switch {
	case strings.Contains(description, codeForgotPassword) && s.cfg.PasswordResetPolicy != "":
		// Straight into the password-reset user flow: no error page, no
		// meta-refresh loop.
		return s.start(w, r, b2c.NewFlow(s.cfg.PasswordResetPolicy, flow.ReturnTo, purposeSignIn))
	case strings.Contains(description, codeCancelled), strings.Contains(description, codeCancelledExternal):
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	b2cCode, _, _ := strings.Cut(description, ":")
	if !strings.HasPrefix(b2cCode, "AADB2C") {
		b2cCode = code
	}
	return &Error{Status: http.StatusBadRequest, Title: "Sign-in failed", Detail: "Azure AD B2C reported an error.",
		Code: b2cCode, Description: description, SignInAgain: true}
}

// SignOut ends the session here (rows deleted, cookie cleared) and then at
// B2C, whose end-session endpoint returns the browser to the home page.
func (s *Service) SignOut(w http.ResponseWriter, r *http.Request) error {
	user, ok := UserFrom(r.Context())
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if err := s.store.Delete(r.Context(), user.sess); err != nil {
		return wrapInfra(err)
	}
	s.clearCookie(w, SessionCookie)
	u, err := s.b2c.EndSessionURL(r.Context(), user.data.Policy, s.cfg.PublicBaseURL.JoinPath("/").String(), user.data.IDToken)
	if err != nil {
		// Signed out here; B2C's own session will end on its own.
		s.log.WarnContext(r.Context(), "no end-session URL", "err", err)
		u = "/"
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
	return nil
}
