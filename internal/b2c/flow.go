package b2c

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Flow is what the protocol needs remembered between the authorize redirect
// and the callback: the user flow, the nonce and the PKCE verifier.
type Flow struct {
	Policy string `json:"policy"`
	// Nonce binds the ID token to this sign-in (OpenID Connect Core §3.1.2.1).
	Nonce string `json:"nonce"`
	// Verifier is the PKCE code verifier (RFC 7636 §4.1).
	Verifier string `json:"verifier"`
}

// NewFlow starts a flow of a user flow with a fresh nonce and PKCE verifier.
func NewFlow(policy string) Flow {
	return Flow{Policy: policy, Nonce: randomString(), Verifier: randomString()}
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
	p, err := c.policy(f.Policy)
	if err != nil {
		return "", err
	}
	// Discovery first: its failures come back typed, MSAL's as text.
	if _, err := c.metadata(ctx, p); err != nil {
		return "", err
	}
	cl, err := c.msal(p, nil)
	if err != nil {
		return "", err
	}
	scopes := append([]string{"openid", "offline_access"}, resourceScopes...)
	if c.tenant.ExternalID {
		// The identity platform puts name and email in the ID token only
		// for these scopes ("ID token claims reference").
		scopes = append(scopes, "profile", "email")
	}
	scopes = distinct(scopes)
	raw, err := cl.AuthCodeURL(ctx, c.clientID, redirectURI, scopes)
	if err != nil {
		return "", fmt.Errorf("b2c: authorize URL for %q: %w: %v", f.Policy, ErrMisconfigured, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("b2c: authorize URL: %w: %v", ErrMisconfigured, err)
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

// distinct is list without repeats, in its order.
func distinct(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Result is a completed sign-in.
type Result struct {
	// Claims are the verified ID token's claims, as decoded from JSON, and
	// RawClaims the same claims as the token carries them: its payload, as
	// issued and verified (RFC 7519 §7.2).
	Claims    map[string]any
	RawClaims json.RawMessage
	// IDToken is the raw, verified ID token (for id_token_hint at logout).
	IDToken string
	// AccountID is MSAL's home account ID, {oid}-{policy}.{tenant}: each
	// user flow's tokens form a distinct account in the cache.
	AccountID string
}

// Redeem exchanges the code with the PKCE verifier, writes the tokens to tc
// and verifies the ID token before anything trusts it: MSAL Go only decodes
// it.
func (c *Client) Redeem(ctx context.Context, f Flow, code, redirectURI string, resourceScopes []string, tc cache.ExportReplace) (*Result, error) {
	p, err := c.policy(f.Policy)
	if err != nil {
		return nil, err
	}
	if _, err := c.metadata(ctx, p); err != nil {
		return nil, err
	}
	cl, err := c.msal(p, tc)
	if err != nil {
		return nil, err
	}
	ctx, reply := withTokenReply(ctx)
	res, err := cl.AcquireTokenByAuthCode(ctx, code, redirectURI, resourceScopes, confidential.WithChallenge(f.Verifier))
	if err != nil {
		err = msalError("redeeming code", err, resourceScopes, reply)
		if _, ok := errors.AsType[*oauthError](err); ok {
			return nil, rejected("the authorization code was not accepted")
		}
		return nil, err
	}
	claims, raw, err := c.Verify(ctx, f.Policy, res.IDToken.RawToken, f.Nonce)
	if err != nil {
		return nil, err
	}
	return &Result{Claims: claims, RawClaims: raw, IDToken: res.IDToken.RawToken, AccountID: res.Account.HomeAccountID}, nil
}

// Verify validates an ID token as OpenID Connect Core 1.0 §3.1.3.7 asks:
// signature against the user flow's keys, iss as its discovery document
// gives it, aud, exp and nbf, and the nonce of this sign-in. It returns the
// token's claims, decoded and as the token carries them.
func (c *Client) Verify(ctx context.Context, policyName, rawIDToken, nonce string) (map[string]any, json.RawMessage, error) {
	if rawIDToken == "" {
		return nil, nil, rejected("no ID token in the response")
	}
	p, err := c.policy(policyName)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.verifier(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	var fetchErr error
	tok, err := v.Verify(context.WithValue(ctx, fetchErrKey{}, &fetchErr), rawIDToken)
	if err != nil && fetchErr == nil && p.mayRefresh(time.Now()) {
		// The tenant may have changed its issuer form ("Issuer (iss)
		// claim") since the document was cached: refetch it, and verify
		// once more if it changed.
		if _, ferr := c.fetchMetadata(ctx, p, true); ferr == nil {
			if fresh, ferr := c.verifier(ctx, p); ferr == nil && fresh != v {
				tok, err = fresh.Verify(context.WithValue(ctx, fetchErrKey{}, &fetchErr), rawIDToken)
			}
		}
	}
	switch {
	case fetchErr != nil:
		return nil, nil, fmt.Errorf("b2c: key set of %q: %w: %v", policyName, ErrUnreachable, transportCause(fetchErr))
	case err != nil:
		return nil, nil, rejected("the ID token is not valid: %v", err)
	case tok.Nonce != nonce:
		return nil, nil, rejected("the ID token's nonce does not match this sign-in")
	}
	var raw json.RawMessage
	var claims map[string]any
	if err := tok.Claims(&raw); err != nil {
		return nil, nil, rejected("decoding claims: %v", err)
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, nil, rejected("decoding claims: %v", err)
	}
	if c.tenant.ExternalID {
		// No user flow in the token: the tenant is what it must name.
		if tid, _ := claims["tid"].(string); !strings.EqualFold(tid, c.tenant.ID) {
			return nil, nil, rejected("the ID token is for tenant %q, expected %q", tid, c.tenant.ID)
		}
		return claims, raw, nil
	}
	if err := c.checkPolicy(claims, policyName); err != nil {
		return nil, nil, err
	}
	return claims, raw, nil
}

// checkPolicy checks that the token names the user flow it was asked of.
// User flows name it in tfp or acr, as the tenant's "claim representing
// policy ID" setting says; a custom policy may emit neither
// (AuthenticationContextReferenceClaimPattern=None, "JWT token issuer
// technical profile"), and with PolicyClaim "none" a token without one is
// accepted: the nonce already binds it to this sign-in's authorize request,
// which named the user flow, and the sign-in's cookie binds that request to
// this browser. A claim that is present must always match.
func (c *Client) checkPolicy(claims map[string]any, policyName string) error {
	got := PolicyClaim(claims)
	if c.claim == "tfp" || c.claim == "acr" {
		got, _ = claims[c.claim].(string)
	}
	if got == "" && c.claim == "none" {
		return nil
	}
	if !strings.EqualFold(got, policyName) {
		if got == "" {
			return &MisconfiguredError{Setting: "PolicyClaim",
				Reason: fmt.Sprintf("the ID token names no user flow in %s; for custom policies that emit neither tfp nor acr, set the policy claim to none", c.claimName())}
		}
		return rejected("the ID token is for user flow %q, expected %q", got, policyName)
	}
	return nil
}

func (c *Client) claimName() string {
	if c.claim == "" {
		return "tfp or acr"
	}
	return c.claim
}

// PolicyClaim is the user flow a token names: tfp, else acr.
func PolicyClaim(claims map[string]any) string {
	if s, ok := claims["tfp"].(string); ok && s != "" {
		return s
	}
	s, _ := claims["acr"].(string)
	return s
}
