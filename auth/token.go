package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// ErrSignInRequired reports that no token can be had without the user: no
// session, no cached account, or a refresh token B2C no longer accepts.
var ErrSignInRequired = errors.New("auth: sign-in required")

// AccessToken returns an access token for scopes for the signed-in user of
// ctx, from the session's token cache, refreshing it when it is within
// MSAL's 5-minute window of expiry. When ErrSignInRequired is returned, send
// the user through sign-in (SignIn) and back.
func (s *Service) AccessToken(ctx context.Context, scopes []string) (string, error) {
	user, ok := UserFrom(ctx)
	if !ok {
		return "", ErrSignInRequired
	}
	tok, err := s.acquireSilent(ctx, user, scopes)
	// Two requests refreshing at once: the loser's cache write fails on the
	// ETag, or B2C refuses its (already rotated) refresh token. Re-read the
	// cache, which now holds the winner's tokens, and try once more.
	if errors.Is(err, session.ErrStale) || isInvalidGrant(err) {
		fresh, lerr := s.store.Load(ctx, user.sess.ID)
		if lerr != nil {
			if errors.Is(lerr, session.ErrNotFound) {
				return "", ErrSignInRequired
			}
			return "", wrapInfra(lerr)
		}
		user.sess = fresh
		tok, err = s.acquireSilent(ctx, user, scopes)
	}
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, session.ErrUnavailable), errors.Is(err, session.ErrStale), errors.Is(err, session.ErrTooLarge):
		return "", wrapInfra(err)
	case b2c.Unreachable(err):
		return "", wrapInfra(fmt.Errorf("%w: %w", b2c.ErrUnreachable, err))
	}
	// A session this young with its cache in place has just been through
	// sign-in: sending it there again would loop.
	if s.store.TokenCache(user.sess) != nil && time.Since(user.sess.Created) < freshSession {
		return "", &Error{Status: http.StatusBadGateway, Title: "No access token",
			Detail: "Azure AD B2C gave no usable access token even right after sign-in. Check API_SCOPES against the app registration's API permissions.", Err: err}
	}
	s.log.InfoContext(ctx, "no token without sign-in", "err", err)
	return "", ErrSignInRequired
}

// freshSession is how young a session is when a failed token request means
// a configuration problem rather than a stale sign-in.
const freshSession = time.Minute

func (s *Service) acquireSilent(ctx context.Context, user *User, scopes []string) (string, error) {
	tc := tokencache.New(s.store, user.sess)
	cl, err := s.b2c.MSAL(user.data.APIPolicy, tc)
	if err != nil {
		return "", err
	}
	acc, err := cl.Account(ctx, user.data.AccountID)
	if err != nil {
		return "", err
	}
	if acc.HomeAccountID == "" {
		// The cookie lives but the cache is gone: say so, rather than
		// loop (Microsoft.Identity.Web's IDW10502).
		return "", fmt.Errorf("auth: account %q not in the token cache", user.data.AccountID)
	}
	res, err := cl.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acc))
	if err != nil {
		return "", err
	}
	return res.AccessToken, nil
}

func isInvalidGrant(err error) bool {
	var callErr msalerrors.CallErr
	return errors.As(err, &callErr) && callErr.Resp != nil && callErr.Resp.StatusCode == http.StatusBadRequest &&
		strings.Contains(callErr.Error(), "invalid_grant")
}
