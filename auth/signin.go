package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

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

// start keeps a pending sign-in in a cookie of this browser and redirects
// to the user flow. Each sign-in has a cookie of its own, named after its
// state, so tabs can sign in at once; starting one writes nothing to the
// table.
func (s *Service) start(w http.ResponseWriter, r *http.Request, p pending) {
	// The URL first: when B2C cannot be reached, nothing is set.
	state := session.NewState()
	u, err := s.b2c.AuthCodeURL(r.Context(), p.Flow, state, s.cfg.RedirectURL, s.tokenScopes())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	value, err := s.sealPending(state, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Bound what sign-ins left unfinished add to every request's headers:
	// past the limit, the older ones are dropped.
	if old := pendingCookies(r); len(old) >= maxPending {
		for _, c := range old {
			clearCookie(w, c.Name)
		}
	}
	setCookie(w, pendingCookie(state), value, session.PendingLifetime)
	http.Redirect(w, r, u, http.StatusFound)
}

// sealPending is the cookie value of p. A browser silently drops a cookie
// over 4,096 bytes, name and attributes included (RFC 6265 §6.1), and the
// user could then never finish this sign-in: past maxPendingValue, the
// return path gives way to HomePath.
func (s *Service) sealPending(state string, p pending) (string, error) {
	for {
		var data bytes.Buffer
		enc := json.NewEncoder(&data)
		enc.SetEscapeHTML(false) // "&" in a query stays one byte, not six
		if err := enc.Encode(p); err != nil {
			return "", err
		}
		value, err := s.store.SealPending(state, data.Bytes())
		if err != nil || len(value) <= maxPendingValue || p.ReturnTo == s.cfg.HomePath {
			return value, err
		}
		p.ReturnTo = s.cfg.HomePath
	}
}

// Limits of the pending sign-in cookies. maxPendingValue leaves room in
// 4,096 bytes for the name and the attributes setCookie writes.
const (
	maxPending      = 4
	maxPendingValue = 3840
)

// pendingCookie names the cookie of the sign-in of state: a prefix and part
// of the state's SHA-256, not the state itself.
func pendingCookie(state string) string {
	sum := sha256.Sum256([]byte(state))
	return PendingCookiePrefix + base64.RawURLEncoding.EncodeToString(sum[:12])
}

func pendingCookies(r *http.Request) []*http.Cookie {
	var cs []*http.Cookie
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, PendingCookiePrefix) {
			cs = append(cs, c)
		}
	}
	return cs
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
	// started this sign-in holds its cookie, so only it may finish it.
	name := pendingCookie(state)
	c, err := r.Cookie(name)
	if err != nil {
		return s.noPendingCookie(r)
	}
	clearCookie(w, name) // this sign-in ends here, whatever the outcome
	data, err := s.store.OpenPending(state, c.Value)
	if err != nil {
		return &Failure{Kind: SignInExpired, Err: err}
	}
	// Consumed before the code is redeemed: a replayed callback never
	// reaches B2C, which would revoke the tokens of a code redeemed twice
	// (RFC 6749 §4.1.2).
	switch err := s.store.Consume(r.Context(), state); {
	case errors.Is(err, session.ErrNotFound):
		return &Failure{Kind: SignInExpired}
	case err != nil:
		return err
	}
	var p pending
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	// Checked again, not trusted from the cookie: never an open redirect.
	p.ReturnTo = LocalPath(p.ReturnTo)
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
	sd := sessionData{Policy: p.Policy, AccountID: res.AccountID, APIPolicy: p.Policy}
	sd.withIDToken(res.IDToken, res.Claims)
	if err := sd.withClaims(res.RawClaims); err != nil {
		return err
	}
	sess, err := s.store.Create(r.Context(), sd.marshal(), tc.Bytes())
	if err != nil {
		return err
	}
	// A new session ID on every sign-in (no session fixation); the old one
	// ends here.
	if old, ok := UserFrom(r.Context()); ok {
		if err := s.store.Delete(r.Context(), old.sess); err != nil {
			s.cfg.Logger.WarnContext(r.Context(), "deleting the previous session", "err", err)
		}
		s.memo.forget(sessionHash(old.sess.ID))
	}
	setCookie(w, SessionCookie, sess.ID, s.cfg.AbsoluteTimeout)
	s.cfg.Logger.InfoContext(r.Context(), "signed in", "policy", p.Policy, "newUser", sd.Profile.NewUser)
	http.Redirect(w, r, p.ReturnTo, http.StatusSeeOther)
	return nil
}

// noPendingCookie tells why a callback came without its sign-in's cookie,
// from the request alone: a callback matching no sign-in of this browser
// costs no storage call and no token request, however many come. A browser
// that is signed in most likely replays a finished sign-in; one with
// sign-ins of its own under way got another browser's callback; one with
// neither keeps no cookies for this site, or started no sign-in.
func (s *Service) noPendingCookie(r *http.Request) error {
	switch _, signedIn := UserFrom(r.Context()); {
	case len(pendingCookies(r)) > 0:
		return &Failure{Kind: BindingMismatch}
	case signedIn:
		return &Failure{Kind: SignInExpired}
	}
	return &Failure{Kind: BindingMissing}
}

// providerError handles an error B2C sent to the redirect URI. B2C puts its
// own code first in the description: "AADB2C90118: The user has forgotten
// their password."
func (s *Service) providerError(w http.ResponseWriter, r *http.Request, p pending, code, description string) error {
	b2cCode := b2c.ErrorCode(description)
	switch {
	case b2cCode == codeForgotPassword && s.cfg.PasswordResetPolicy != "":
		// Straight into the password-reset user flow: no error page, no
		// meta-refresh loop.
		s.start(w, r, pending{Flow: b2c.NewFlow(s.cfg.PasswordResetPolicy), ReturnTo: p.ReturnTo, Purpose: purposeSignIn})
		return nil
	case b2cCode == codeCancelled, b2cCode == codeCancelledExternal,
		// External ID sends a cancel as a bare access_denied (the identity
		// platform's "the user canceled the authentication").
		s.cfg.ExternalID && code == "access_denied" && b2cCode == "":
		http.Redirect(w, r, s.cfg.HomePath, http.StatusSeeOther)
		return nil
	}
	if me := b2c.ConfigError(b2cCode); me != nil {
		return me // the site's settings, not the visitor's sign-in
	}
	if b2cCode == "" {
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
		s.memo.forget(sessionHash(user.sess.ID))
		clearCookie(w, SessionCookie)
		u, err := s.b2c.EndSessionURL(r.Context(), user.data.Policy, s.cfg.postLogoutURL(), s.idTokenHint(user))
		if err != nil {
			// Signed out here; B2C's own session will end on its own.
			s.cfg.Logger.WarnContext(r.Context(), "no end-session URL", "err", err)
			u = s.cfg.HomePath
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
	})
}

// idTokenHint is the ID token to send as id_token_hint, or "" once it has
// expired: B2C's error codes include one for an expired hint, and a
// sign-out should not fail for a token that aged while the session lived.
func (s *Service) idTokenHint(user *User) string {
	if exp := user.data.IDTokenExpires; exp != 0 && !s.cfg.Now().Before(time.Unix(exp, 0)) {
		return ""
	}
	return user.data.idToken()
}

// sessionHash names a session inside a pending row without storing its ID.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
