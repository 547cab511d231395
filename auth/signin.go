package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// B2C error codes the callback acts on ("Error codes: Azure AD B2C").
const (
	codeForgotPassword    = "AADB2C90118" // the user clicked "Forgot your password?"
	codeCancelled         = "AADB2C90091" // the user cancelled a self-asserted page
	codeCancelledExternal = "AADB2C90273" // the user cancelled at an external IdP
)

// Purposes of a pending sign-in.
const (
	purposeSignIn  = ""
	purposeProfile = "profile"
)

// pending is what a started sign-in keeps server-side, keyed by its state:
// the protocol's part, and where it goes on.
type pending struct {
	b2c.Flow
	// ReturnTo is the local path to go back to after the callback.
	ReturnTo string `json:"returnTo"`
	// Purpose tells the callback what the flow was for.
	Purpose string `json:"purpose,omitempty"`
	// Session names the session a profile edit belongs to: a hash, never
	// the session ID.
	Session string `json:"session,omitempty"`
}

// Mount registers the handlers on mux: GET LoginPath, GET on the redirect
// URL's path, POST LogoutPath and, with a profile-editing user flow, GET
// ProfilePath. mux must be behind Sessions.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.Handle("GET "+s.cfg.LoginPath, s.SignInHandler())
	mux.Handle("GET "+s.cfg.redirectPath(), s.CallbackHandler())
	mux.Handle("POST "+s.cfg.LogoutPath, s.SignOutHandler())
	if s.ProfileEditEnabled() {
		mux.Handle("GET "+s.cfg.ProfilePath, s.EditProfileHandler())
	}
}

// SignInHandler starts sign-in; ?next= names a local page to come back to.
func (s *Service) SignInHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.SignIn(w, r, r.URL.Query().Get("next"))
	})
}

// SignIn starts the sign-up/sign-in user flow and comes back to returnTo, a
// local path.
func (s *Service) SignIn(w http.ResponseWriter, r *http.Request, returnTo string) {
	s.start(w, r, pending{Flow: b2c.NewFlow(s.cfg.SignUpSignInPolicy), ReturnTo: LocalPath(returnTo), Purpose: purposeSignIn})
}

// start stores a pending sign-in bound to this browser and redirects to the
// user flow. The binding cookie is reused while it lives, so two tabs can
// sign in at once.
func (s *Service) start(w http.ResponseWriter, r *http.Request, p pending) {
	binding := rand.Text() // 128 random bits
	if c, err := r.Cookie(BindingCookie); err == nil && len(c.Value) == len(binding) {
		binding = c.Value
	}
	data, err := json.Marshal(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The URL first: when B2C cannot be reached, nothing is stored.
	state := session.NewState()
	u, err := s.b2c.AuthCodeURL(r.Context(), p.Flow, state, s.cfg.RedirectURL, s.tokenScopes())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.PutPending(r.Context(), state, data, binding); err != nil {
		s.fail(w, r, err)
		return
	}
	setCookie(w, BindingCookie, binding, session.PendingLifetime)
	http.Redirect(w, r, u, http.StatusFound)
}

// CallbackHandler serves the redirect URI. It checks the state and the
// browser binding, handles B2C's errors, redeems the code, verifies the ID
// token, and only then creates the session. It answers with a 303 to a
// clean URL, so the code never stays in the browser's history.
func (s *Service) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.callback(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Service) callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return &Failure{Kind: BadResponse}
	}
	// Login CSRF (RFC 6749 §10.12, RFC 9700 §4.7.1): only the browser that
	// started this sign-in may finish it.
	var binding string
	if c, err := r.Cookie(BindingCookie); err == nil {
		binding = c.Value
	}
	data, err := s.store.TakePending(r.Context(), state, binding)
	switch {
	case errors.Is(err, session.ErrNotFound):
		return &Failure{Kind: SignInExpired}
	case errors.Is(err, session.ErrBindingMismatch) && binding == "":
		return &Failure{Kind: BindingMissing}
	case errors.Is(err, session.ErrBindingMismatch):
		return &Failure{Kind: BindingMismatch}
	case err != nil:
		return err
	}
	var p pending
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		return s.providerError(w, r, p, e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return &Failure{Kind: BadResponse}
	}
	if p.Purpose == purposeProfile {
		return s.completeProfileEdit(w, r, p, code)
	}
	tc := tokencache.ForNewSession()
	res, err := s.b2c.Redeem(r.Context(), p.Flow, code, s.cfg.RedirectURL, s.tokenScopes(), tc)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(sessionData{Claims: res.Claims, Policy: p.Policy, AccountID: res.AccountID, APIPolicy: p.Policy, IDToken: res.IDToken})
	if err != nil {
		return err
	}
	sess, err := s.store.Create(r.Context(), payload, tc.Bytes())
	if err != nil {
		return err
	}
	// A new session ID on every sign-in (no session fixation); the old one
	// ends here.
	if old, ok := UserFrom(r.Context()); ok {
		if err := s.store.Delete(r.Context(), old.sess); err != nil {
			s.cfg.Logger.WarnContext(r.Context(), "deleting the previous session", "err", err)
		}
	}
	setCookie(w, SessionCookie, sess.ID, s.cfg.AbsoluteTimeout)
	s.cfg.Logger.InfoContext(r.Context(), "signed in", "policy", p.Policy, "newUser", claimsFrom(res.Claims).NewUser)
	http.Redirect(w, r, p.ReturnTo, http.StatusSeeOther)
	return nil
}

// providerError handles an error B2C sent to the redirect URI. B2C puts its
// own code first in the description: "AADB2C90118: The user has forgotten
// their password."
func (s *Service) providerError(w http.ResponseWriter, r *http.Request, p pending, code, description string) error {
	b2cCode, _, _ := strings.Cut(description, ":")
	switch {
	case b2cCode == codeForgotPassword && s.cfg.PasswordResetPolicy != "":
		// Straight into the password-reset user flow: no error page, no
		// meta-refresh loop.
		s.start(w, r, pending{Flow: b2c.NewFlow(s.cfg.PasswordResetPolicy), ReturnTo: p.ReturnTo, Purpose: purposeSignIn})
		return nil
	case b2cCode == codeCancelled, b2cCode == codeCancelledExternal:
		http.Redirect(w, r, s.cfg.HomePath, http.StatusSeeOther)
		return nil
	}
	if !strings.HasPrefix(b2cCode, "AADB2C") {
		b2cCode = code
	}
	return &Failure{Kind: ProviderError, Code: b2cCode, Description: description}
}

// SignOutHandler ends the session here (rows deleted, cookie cleared) and
// then at B2C, whose end-session endpoint returns the browser to HomePath.
// Serve it for POST only: a cross-site link must not sign anyone out.
func (s *Service) SignOutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := UserFrom(r.Context())
		if !ok {
			http.Redirect(w, r, s.cfg.HomePath, http.StatusSeeOther)
			return
		}
		if err := s.store.Delete(r.Context(), user.sess); err != nil {
			s.fail(w, r, err)
			return
		}
		clearCookie(w, SessionCookie)
		u, err := s.b2c.EndSessionURL(r.Context(), user.data.Policy, s.cfg.postLogoutURL(), user.data.IDToken)
		if err != nil {
			// Signed out here; B2C's own session will end on its own.
			s.cfg.Logger.WarnContext(r.Context(), "no end-session URL", "err", err)
			u = s.cfg.HomePath
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
	})
}

// sessionHash names a session inside a pending row without storing its ID.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
