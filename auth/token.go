package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/tokencache"
)

// AccessToken returns an access token for scopes for the signed-in user of
// ctx, from the session's token cache, refreshing it when it is within
// MSAL's 5-minute window of expiry. The process keeps the tokens it
// returned until then, so a repeated call costs no storage call. When ErrSignInRequired is returned, send
// the user through sign-in (SignIn) and back; other errors are *Failure
// values for the app's error page.
func (s *Service) AccessToken(ctx context.Context, scopes []string) (string, error) {
	user, ok := UserFrom(ctx)
	if !ok {
		return "", ErrSignInRequired
	}
	mk := memoKey{session: sessionHash(user.sess.ID), account: user.data.AccountID, scopes: strings.Join(scopes, " ")}
	// The memo vouches for a session only just read: a request running
	// longer (a stream, work detached from it) reads the token cache, which
	// a sign-out on another instance has deleted. MSAL's clock, not
	// Config.Now, says when its tokens need refreshing.
	if s.cfg.Now().Sub(user.loaded) < memoTrust {
		if tok, ok := s.memo.get(mk, time.Now()); ok {
			return tok, nil
		}
	}
	// Calls of one request at once (two scope sets) each read the cache
	// into their own copy of the session.
	sess := *user.sess
	user = &User{Claims: user.Claims, sess: &sess, data: user.data, loaded: user.loaded}
	// The requests of one session for the same scopes at once (tabs opened
	// together after the token expired) share one call: one refresh, not
	// one per tab that all but one would lose.
	select {
	case res := <-s.tokens.DoChan(mk.session+" "+mk.account+" "+mk.scopes, func() (any, error) { return s.accessToken(ctx, user, scopes, mk) }):
		tok, _ := res.Val.(string)
		if res.Shared && (errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded)) && ctx.Err() == nil {
			// The request that made the call went away, not this one.
			return s.accessToken(ctx, user, scopes, mk)
		}
		return tok, res.Err
	case <-ctx.Done():
		return "", s.failure(ctx.Err())
	}
}

func (s *Service) accessToken(ctx context.Context, user *User, scopes []string, mk memoKey) (string, error) {
	tok, err := s.acquireSilent(ctx, user, scopes, mk)
	// Two requests refreshing at once: the loser's cache write fails on the
	// ETag, or B2C refuses its (already rotated) refresh token. Re-read the
	// cache, which now holds the winner's tokens, and try once more.
	if errors.Is(err, session.ErrStale) || errors.Is(err, b2c.ErrRefused) {
		fresh, lerr := s.store.Load(ctx, user.sess.ID)
		if errors.Is(lerr, session.ErrNotFound) {
			return "", ErrSignInRequired
		}
		if lerr != nil {
			return "", s.failure(lerr)
		}
		user.sess = fresh
		tok, err = s.acquireSilent(ctx, user, scopes, mk)
	}
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, session.ErrNotFound):
		return "", ErrSignInRequired // signed out in another tab meanwhile
	case isTyped[*b2c.MisconfiguredError](err), isTyped[*b2c.DeclinedScopesError](err):
		return "", s.failure(err) // signing in again would not help
	case !errors.Is(err, b2c.ErrNoAccount) && !errors.Is(err, b2c.ErrRefused) && !errors.Is(err, b2c.ErrMisconfigured):
		return "", s.failure(err)
	}
	// A session this young with its cache in place has just been through
	// sign-in: sending it there again would loop.
	if cache, _ := s.store.TokenCache(ctx, user.sess); cache != nil && s.cfg.Now().Sub(user.sess.Created) < freshSession {
		return "", &Failure{Kind: Misconfigured, Setting: "Scopes", Err: fmt.Errorf("no usable access token right after sign-in: check Config.Scopes (%s) against the app registration's API permissions: %w", EnvAPIScopes, err)}
	}
	s.cfg.Logger.InfoContext(ctx, "no token without sign-in", "err", err)
	return "", ErrSignInRequired
}

func isTyped[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// memoTrust is how long after its session was read a request may take a
// token from the memo.
const memoTrust = 10 * time.Second

// freshSession is how young a session is when a failed token request means
// a configuration problem rather than a stale sign-in.
const freshSession = time.Minute

func (s *Service) acquireSilent(ctx context.Context, user *User, scopes []string, mk memoKey) (string, error) {
	tc, err := tokencache.New(ctx, s.store, user.sess)
	if err != nil {
		return "", err
	}
	at, err := s.b2c.AcquireTokenSilent(ctx, user.data.APIPolicy, user.data.AccountID, scopes, tc)
	if err != nil {
		return "", err
	}
	s.memo.put(mk, at, time.Now())
	return at.Token, nil
}
