package b2c

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// Flow is what a pending sign-in remembers between the authorize redirect
// and the callback. It is stored server-side, keyed by the state parameter.
type Flow struct {
	Policy string `json:"policy"`
	// Nonce binds the ID token to this sign-in (OpenID Connect Core §3.1.2.1).
	Nonce string `json:"nonce"`
	// Verifier is the PKCE code verifier (RFC 7636 §4.1).
	Verifier string `json:"verifier"`
	// ReturnTo is the local path to go back to after the callback.
	ReturnTo string `json:"returnTo"`
	// Purpose tells the callback what the flow was for, e.g. a profile edit.
	Purpose string `json:"purpose,omitempty"`
	// Session names the session a profile edit belongs to (a hash, not
	// the session ID).
	Session string `json:"session,omitempty"`
}

// NewFlow starts a flow with a fresh nonce and PKCE verifier.
func NewFlow(policy, returnTo, purpose string) Flow {
	return Flow{Policy: policy, Nonce: randomString(), Verifier: randomString(), ReturnTo: returnTo, Purpose: purpose}
}

// randomString is 256 random bits, base64url: 43 characters, inside PKCE's
// 43-128 unreserved characters (RFC 7636 §4.1).
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// challenge is the S256 code challenge (RFC 7636 §4.2).
func (f Flow) challenge() string {
	sum := sha256.Sum256([]byte(f.Verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthCodeURL returns the authorize URL for the flow. MSAL Go adds no
// state, nonce, PKCE or default scopes, so they are added here: openid for
// the ID token, offline_access for a refresh token, plus resource scopes (B2C
// gives no access token without one, and MSAL fails without an access token).
func (c *Client) AuthCodeURL(ctx context.Context, f Flow, state, redirectURI string, resourceScopes []string) (string, error) {
	cl, err := c.MSAL(f.Policy, nil)
	if err != nil {
		return "", err
	}
	scopes := append([]string{"openid", "offline_access"}, resourceScopes...)
	raw, err := cl.AuthCodeURL(ctx, c.clientID, redirectURI, scopes)
	if err != nil {
		return "", fmt.Errorf("b2c: authorize URL for %q: %w: %w", f.Policy, ErrUnreachable, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("b2c: authorize URL: %w", err)
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("nonce", f.Nonce)
	q.Set("code_challenge", f.challenge())
	q.Set("code_challenge_method", "S256")
	// query, not form_post: the SameSite=Lax binding cookie only comes back
	// on a top-level GET.
	q.Set("response_mode", "query")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Result is a completed sign-in.
type Result struct {
	Claims Claims
	// IDToken is the raw, verified ID token (for id_token_hint at logout).
	IDToken string
	// AccountID is MSAL's home account ID, {oid}-{policy}.{tenant}: each
	// user flow's tokens form a distinct account in the cache.
	AccountID string
}

// ErrRejected reports a code or token that B2C or validation rejected: the
// visitor's sign-in failed, the app is fine.
var ErrRejected = errors.New("b2c: sign-in rejected")

// Redeem exchanges the code with the PKCE verifier, writes the tokens to tc
// and verifies the ID token before anything trusts it: MSAL Go only decodes
// it.
func (c *Client) Redeem(ctx context.Context, f Flow, code, redirectURI string, resourceScopes []string, tc cache.ExportReplace) (*Result, error) {
	cl, err := c.MSAL(f.Policy, tc)
	if err != nil {
		return nil, err
	}
	res, err := cl.AcquireTokenByAuthCode(ctx, code, redirectURI, resourceScopes, confidential.WithChallenge(f.Verifier))
	var callErr msalerrors.CallErr
	switch {
	case err == nil:
	case errors.As(err, &callErr) && callErr.Resp != nil && callErr.Resp.StatusCode >= 400 && callErr.Resp.StatusCode < 500:
		return nil, fmt.Errorf("%w: the code was not accepted: %w", ErrRejected, err)
	case Unreachable(err):
		return nil, fmt.Errorf("b2c: redeeming code: %w: %w", ErrUnreachable, err)
	default:
		// A response MSAL refused (no access token, declined scopes): the
		// app's configuration, not the visitor, is at fault.
		return nil, fmt.Errorf("b2c: redeeming code: %w", err)
	}
	claims, err := c.Verify(ctx, f.Policy, res.IDToken.RawToken, f.Nonce)
	if err != nil {
		return nil, err
	}
	return &Result{Claims: claims, IDToken: res.IDToken.RawToken, AccountID: res.Account.HomeAccountID}, nil
}

// Verify validates an ID token as OpenID Connect Core 1.0 §3.1.3.7 asks:
// signature against the user flow's keys, iss as its discovery document
// gives it, aud, exp and nbf, and the nonce of this sign-in.
func (c *Client) Verify(ctx context.Context, policyName, rawIDToken, nonce string) (Claims, error) {
	if rawIDToken == "" {
		return Claims{}, fmt.Errorf("%w: no ID token in the response", ErrRejected)
	}
	p, err := c.discovered(ctx, policyName)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	tok, err := p.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		// go-oidc flattens the key-set fetch error to text.
		if strings.Contains(err.Error(), "fetching keys") {
			return Claims{}, fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		return Claims{}, fmt.Errorf("%w: the ID token is not valid: %w", ErrRejected, err)
	}
	if tok.Nonce != nonce {
		return Claims{}, fmt.Errorf("%w: the ID token's nonce does not match this sign-in", ErrRejected)
	}
	var claims Claims
	if err := tok.Claims(&claims.Raw); err != nil {
		return Claims{}, fmt.Errorf("%w: decoding claims: %w", ErrRejected, err)
	}
	claims.fill()
	// B2C always names the user flow (tfp, or acr for custom policies).
	if !strings.EqualFold(claims.Policy, policyName) {
		return Claims{}, fmt.Errorf("%w: the ID token is for user flow %q, expected %q", ErrRejected, claims.Policy, policyName)
	}
	return claims, nil
}

// Unreachable reports whether err is a failure to reach B2C at all
// (refused, timed out, a 5xx) rather than B2C refusing the request.
func Unreachable(err error) bool {
	var callErr msalerrors.CallErr
	if errors.As(err, &callErr) && callErr.Resp != nil {
		return callErr.Resp.StatusCode >= 500
	}
	var urlErr *url.Error
	var netErr net.Error
	return errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		// MSAL flattens transport errors during endpoint resolution to text.
		strings.Contains(err.Error(), "unable to resolve an endpoint")
}

// Claims are the B2C claims of a verified ID token. MSAL Go's IDToken does
// not expose tfp/acr, emails, idp, newUser or extension claims.
type Claims struct {
	Subject    string
	ObjectID   string
	Name       string
	GivenName  string
	FamilyName string
	Emails     []string
	IdP        string
	NewUser    bool
	// Policy is the user flow that issued the token (tfp, or acr in the
	// custom-policy form).
	Policy string
	// Raw holds every claim, for display and extension attributes.
	Raw map[string]any
}

// ClaimsFrom rebuilds Claims from a raw claim set, as stored in a session.
func ClaimsFrom(raw map[string]any) Claims {
	c := Claims{Raw: raw}
	c.fill()
	return c
}

func (c *Claims) fill() {
	str := func(k string) string { s, _ := c.Raw[k].(string); return s }
	c.Subject, c.ObjectID, c.Name = str("sub"), str("oid"), str("name")
	c.GivenName, c.FamilyName, c.IdP = str("given_name"), str("family_name"), str("idp")
	c.Policy = str("tfp")
	if c.Policy == "" {
		c.Policy = str("acr")
	}
	c.NewUser, _ = c.Raw["newUser"].(bool)
	c.Emails = nil
	if list, ok := c.Raw["emails"].([]any); ok {
		for _, e := range list {
			if s, ok := e.(string); ok && !slices.Contains(c.Emails, s) {
				c.Emails = append(c.Emails, s)
			}
		}
	}
}
