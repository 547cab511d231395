package auth

import (
	"errors"
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// EditProfileHandler starts the profile-editing user flow for the signed-in
// user, sending a signed-out visitor through sign-in first. Unlike the Flask
// sample's link, the flow is stored like any sign-in, so its response is
// checked and used.
func (s *Service) EditProfileHandler() http.Handler {
	return s.RequireSignIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := UserFrom(r.Context())
		switch {
		case !ok:
			s.fail(w, r, &Failure{Kind: SignInRequired})
		case !s.ProfileEditEnabled():
			s.fail(w, r, &Failure{Kind: ProfileEditOff})
		default:
			s.start(w, r, pending{Flow: b2c.NewFlow(s.cfg.ProfileEditPolicy), ReturnTo: s.cfg.HomePath, Purpose: purposeProfile, Session: sessionHash(user.sess.ID)})
		}
	}))
}

// completeProfileEdit replaces the session's claims with those of the new
// ID token. The session keeps its ID and its API account: editing a profile
// changes what is shown, not who is signed in.
func (s *Service) completeProfileEdit(w http.ResponseWriter, r *http.Request, p pending, code string) error {
	user, ok := UserFrom(r.Context())
	if !ok || sessionHash(user.sess.ID) != p.Session {
		return &Failure{Kind: ProfileEditEnded}
	}
	// The tokens go to a throwaway cache: the session keeps its API
	// account, and nothing is stored before the ID token is verified and
	// shown to be this user's.
	res, err := s.b2c.Redeem(r.Context(), p.Flow, code, s.cfg.RedirectURL, s.tokenScopes(), tokencache.ForNewSession())
	if err != nil {
		return err
	}
	// The same user, by a stable ID: with neither oid nor a real sub, no
	// one can be shown to be the same, so the edit is refused.
	data := user.data
	if err := data.withClaims(res.RawClaims); err != nil {
		return err
	}
	id := data.Profile.UserID()
	if id == "" || user.Claims.UserID() == "" {
		return &Failure{Kind: Misconfigured, Setting: "ProfileEditPolicy",
			Err: errors.New("auth: the user flows send neither oid nor a real sub, so a profile edit cannot be shown to be the same user's: select \"User's Object ID\" as an application claim")}
	}
	if id != user.Claims.UserID() {
		return &Failure{Kind: ProfileEditOtherUser}
	}
	if err := s.store.Update(r.Context(), user.sess, data.marshal()); err != nil {
		return err
	}
	http.Redirect(w, r, p.ReturnTo, http.StatusSeeOther)
	return nil
}
