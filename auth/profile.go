package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// EditProfile starts the profile-editing user flow for the signed-in user;
// put it behind RequireSignIn. Unlike the Flask sample's link, the flow is
// stored like any sign-in, so its response is checked and used.
func (s *Service) EditProfile(w http.ResponseWriter, r *http.Request) error {
	user, ok := UserFrom(r.Context())
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Title: "Sign-in required", Detail: "Please sign in first.", SignInAgain: true}
	}
	if s.cfg.ProfileEditPolicy == "" {
		return &Error{Status: http.StatusNotFound, Title: "Profile editing is off", Detail: "No profile-editing user flow is configured."}
	}
	flow := b2c.NewFlow(s.cfg.ProfileEditPolicy, "/", purposeProfile)
	flow.Session = sessionHash(user.sess.ID)
	return s.start(w, r, flow)
}

// sessionHash names a session inside a pending row without storing its ID.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// completeProfileEdit replaces the session's claims with those of the new
// ID token. The session keeps its ID and its API account: editing a profile
// changes what is shown, not who is signed in.
func (s *Service) completeProfileEdit(w http.ResponseWriter, r *http.Request, flow b2c.Flow, code string) error {
	user, ok := UserFrom(r.Context())
	if !ok || sessionHash(user.sess.ID) != flow.Session {
		return &Error{Status: http.StatusBadRequest, Title: "Profile edit failed", Detail: "The session that started this profile edit has ended.", SignInAgain: true}
	}
	// The tokens go to a throwaway cache: the session keeps its API
	// account, and nothing is stored before the ID token is verified and
	// shown to be this user's.
	res, err := s.b2c.Redeem(r.Context(), flow, code, s.cfg.RedirectURI(), s.tokenScopes(), tokencache.ForNewSession())
	if err != nil {
		return redeemError(err)
	}
	if res.Claims.Subject == "" || res.Claims.Subject != user.Claims.Subject || res.Claims.ObjectID != user.Claims.ObjectID {
		return &Error{Status: http.StatusBadRequest, Title: "Profile edit failed", Detail: "The profile edit came back for another user.", SignInAgain: true}
	}
	user.data.Claims = res.Claims.Raw
	payload, err := json.Marshal(user.data)
	if err != nil {
		return err
	}
	if err := s.store.Update(r.Context(), user.sess, payload); err != nil {
		return wrapInfra(err)
	}
	http.Redirect(w, r, flow.ReturnTo, http.StatusSeeOther)
	return nil
}
