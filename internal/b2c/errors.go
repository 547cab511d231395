package b2c

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

var (
	// ErrUnreachable wraps failures to reach B2C at all: refused, timed
	// out, or a 5xx.
	ErrUnreachable = errors.New("b2c: identity provider unreachable")
	// ErrMisconfigured wraps failures that the app's settings cause: an
	// unknown user flow, a discovery document B2C refuses to serve, a
	// token response without the scopes the app asked for.
	ErrMisconfigured = errors.New("b2c: misconfigured")
	// ErrNoAccount reports that the token cache holds no account for the
	// session: the cache is gone while the cookie lives.
	ErrNoAccount = errors.New("b2c: account not in the token cache")
	// ErrRefused reports that the token endpoint refused a silent request,
	// typically an expired, revoked or already rotated refresh token.
	ErrRefused = errors.New("b2c: token request refused")
)

// A RejectedError is a code or ID token that B2C or validation refused: the
// visitor's sign-in failed, the app is fine. Reason is safe to show.
type RejectedError struct {
	Reason string
}

func (e *RejectedError) Error() string { return "b2c: sign-in rejected: " + e.Reason }

func rejected(format string, args ...any) error {
	return &RejectedError{Reason: fmt.Sprintf(format, args...)}
}

// msalError classifies an error of an MSAL call. MSAL's error text can quote
// the token response, refresh token included, so it is never passed on:
// only the status and the class of failure are.
func msalError(op string, err error) error {
	if callErr, ok := errors.AsType[msalerrors.CallErr](err); ok && callErr.Resp != nil {
		status := callErr.Resp.StatusCode
		if status >= 500 {
			return fmt.Errorf("b2c: %s: %w: status %d", op, ErrUnreachable, status)
		}
		return &statusError{op: op, status: status}
	}
	if transportFailure(err) {
		return fmt.Errorf("b2c: %s: %w: %v", op, ErrUnreachable, transportCause(err))
	}
	// A response MSAL refused to use (no access token, declined scopes):
	// the app's configuration, not the visitor, is at fault.
	return fmt.Errorf("b2c: %s: %w: the token response was not usable (%T)", op, ErrMisconfigured, err)
}

// statusError is a 4xx answer of the token endpoint.
type statusError struct {
	op     string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("b2c: %s: token endpoint answered %d", e.op, e.status)
}

func transportFailure(err error) bool {
	_, isURL := errors.AsType[*url.Error](err)
	_, isNet := errors.AsType[net.Error](err)
	return isURL || isNet || errors.Is(err, context.DeadlineExceeded)
}

// transportCause is the innermost error of a transport failure, without
// the URL (which may carry a query).
func transportCause(err error) error {
	if u, ok := errors.AsType[*url.Error](err); ok {
		return u.Err
	}
	return err
}
