package b2c

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

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

// A MisconfiguredError is B2C refusing the app's own settings: the operator
// must fix Setting, a field of the app's sign-in configuration (ClientID,
// ClientSecret, RedirectURL, Scopes, TenantHost, PolicyClaim, or the field
// that names Policy). Code is B2C's AADB2C code when it sent one.
type MisconfiguredError struct {
	Setting string
	Policy  string
	Code    string
	Reason  string // safe to log; quotes no token
}

func (e *MisconfiguredError) Error() string {
	msg := "b2c: misconfigured: " + e.Reason
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	return msg + ": check " + e.Setting
}

func (e *MisconfiguredError) Is(target error) bool { return target == ErrMisconfigured }

// A DeclinedScopesError is a token response that B2C gave without some of
// the API scopes asked for: B2C succeeds when at least one requested
// permission is granted ("Request an access token in Azure AD B2C"), and
// MSAL Go then refuses the response. The app registration lacks consent
// for them, or the app asks for scopes it should not.
type DeclinedScopesError struct {
	Declined []string
}

func (e *DeclinedScopesError) Error() string {
	return "b2c: misconfigured: scopes not granted to the app: " + strings.Join(e.Declined, " ") + ": check Scopes"
}

func (e *DeclinedScopesError) Is(target error) bool { return target == ErrMisconfigured }

// oauthError is a 4xx answer of the token endpoint (RFC 6749 §5.2), with
// B2C's code from the front of error_description ("AADB2C90081: ...").
type oauthError struct {
	op     string
	status int
	code   string // error
	b2c    string // AADB2C...
}

func (e *oauthError) Error() string {
	return fmt.Sprintf("b2c: %s: token endpoint answered %d %s %s", e.op, e.status, e.code, e.b2c)
}

// Token endpoint errors that are the app's configuration, not the visitor's
// sign-in ("Error codes: Azure AD B2C").
var configErrors = map[string]struct{ setting, reason string }{
	"AADB2C90018": {"ClientID", "the client ID is not registered in the tenant"},
	"AADB2C90079": {"ClientSecret", "the app sent no client secret"},
	"AADB2C90081": {"ClientSecret", "the client secret does not match (wrong or expired)"},
	"AADB2C90006": {"RedirectURL", "the redirect URI is not registered for the app"},
	"AADB2C90117": {"Scopes", "a requested scope is not supported"},
	"AADB2C90146": {"Scopes", "the scopes name more than one resource"},
	"AADB2C90205": {"Scopes", "none of the requested scopes is granted to the app (admin consent)"},
	// External ID answers with the identity platform's codes ("Microsoft
	// Entra authentication and authorization error codes").
	"AADSTS7000215": {"ClientSecret", "the client secret is invalid"},
	"AADSTS7000222": {"ClientSecret", "the client secret has expired"},
	"AADSTS700016":  {"ClientID", "the application is not found in the tenant"},
	"AADSTS50011":   {"RedirectURL", "the redirect URI is not registered for the app"},
	"AADSTS65001":   {"Scopes", "the app is not granted consent for the requested scopes"},
	"AADSTS70011":   {"Scopes", "a requested scope is not valid"},
}

// ErrorCode is the code at the front of an error description, "AADB2C90118:
// ..." or "AADSTS50011: ...", or "".
func ErrorCode(description string) string {
	code, _, ok := strings.Cut(description, ":")
	if ok && (strings.HasPrefix(code, "AADB2C") || strings.HasPrefix(code, "AADSTS")) {
		return code
	}
	return ""
}

// ConfigError is the misconfiguration an AADB2C or AADSTS code stands for, or nil when
// the code is not the app's settings' fault.
func ConfigError(code string) *MisconfiguredError {
	c, ok := configErrors[code]
	if !ok {
		return nil
	}
	return &MisconfiguredError{Setting: c.setting, Code: code, Reason: c.reason}
}

// msalError classifies an error of an MSAL token call. MSAL's error text can
// quote the token response, refresh token included, so it is never passed
// on: only what is parsed from the response is (its status, OAuth error
// code and AADB2C code), and the scopes granted, which reply recorded.
func msalError(op string, err error, requested []string, reply *tokenReply) error {
	if callErr, ok := errors.AsType[msalerrors.CallErr](err); ok && callErr.Resp != nil {
		status := callErr.Resp.StatusCode
		if status >= 500 {
			return fmt.Errorf("b2c: %s: %w: status %d", op, ErrUnreachable, status)
		}
		e := &oauthError{op: op, status: status}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.NewDecoder(io.LimitReader(callErr.Resp.Body, 1<<16)).Decode(&body) == nil {
			e.code = body.Error
			e.b2c = ErrorCode(body.Description)
		}
		if me := ConfigError(e.b2c); me != nil {
			return me
		}
		if e.code == "invalid_client" {
			return &MisconfiguredError{Setting: "ClientSecret", Code: e.b2c, Reason: "the client credentials were refused"}
		}
		return e
	}
	if transportFailure(err) {
		return fmt.Errorf("b2c: %s: %w: %v", op, ErrUnreachable, transportCause(err))
	}
	if declined := reply.declined(requested); len(declined) > 0 {
		return &DeclinedScopesError{Declined: declined}
	}
	// Another response MSAL refused to use (no access token, a body it
	// could not parse): the app's configuration, not the visitor.
	return fmt.Errorf("b2c: %s: %w: the token response was not usable (%T)", op, ErrMisconfigured, err)
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
