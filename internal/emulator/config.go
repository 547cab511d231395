package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"
)

// PolicyKind is the kind of user flow a policy runs.
type PolicyKind int

const (
	// SignUpSignIn is the classic sign-up/sign-in flow: "Forgot your
	// password?" sends the user back with AADB2C90118.
	SignUpSignIn PolicyKind = iota
	// SignUpSignInWithReset is B2C's "recommended" sign-up/sign-in flow
	// with the password reset embedded; it never sends AADB2C90118.
	SignUpSignInWithReset
	// ProfileEdit signs the user in, then lets them change their names.
	ProfileEdit
	// PasswordReset lets the user pick a new password, then signs them in.
	PasswordReset
)

// Policy is a user flow, named as configured, e.g. "B2C_1_signupsignin1".
type Policy struct {
	Name string
	Kind PolicyKind

	// PolicyClaim names the claim that carries the policy ID in tokens, per
	// the tenant's "claim representing policy ID" setting: "tfp" (default when
	// empty), "acr", or "none" — a custom policy whose JWT issuer technical
	// profile sets AuthenticationContextReferenceClaimPattern=None and has no
	// trustFrameworkPolicy output claim (jwt-issuer-technical-profile.md).
	PolicyClaim string
	// ApplicationClaims, when non-nil, are the claims the user flow returns,
	// from: "emails", "name", "given_name", "family_name", "oid", "idp",
	// "newUser"; the others are left out of ID tokens (application claims are
	// opt-in per user flow). nil returns them all, as today. The emulator's
	// users are local accounts, which have no identity provider, so "idp" is
	// accepted but never issued. Access tokens follow the same choice, as B2C
	// puts the user flow's claims in both (access-tokens.md).
	ApplicationClaims []string
	// LegacySubject makes sub the constant "Not supported currently. Use oid
	// claim." (tokens-overview.md, the subject claim of older policies).
	LegacySubject bool
}

// applicationClaims are the claims Policy.ApplicationClaims may name, in the
// order discovery lists them.
var applicationClaims = []string{"oid", "name", "given_name", "family_name", "emails", "newUser", "idp"}

// legacySubject is the sub of every token of a policy with LegacySubject.
const legacySubject = "Not supported currently. Use oid claim."

// policyClaim is the name of the claim carrying the policy ID, "" for none.
func (p Policy) policyClaim() string {
	switch p.PolicyClaim {
	case "", "tfp":
		return "tfp"
	case "acr":
		return "acr"
	}
	return ""
}

// returns reports whether the user flow returns an application claim.
func (p Policy) returns(claim string) bool {
	return p.ApplicationClaims == nil || slices.Contains(p.ApplicationClaims, claim)
}

// Client is a registered confidential application. RedirectURIs must match
// the authorize request exactly; a post_logout_redirect_uri is accepted when
// it has the same origin (scheme, host and port) as one of them.
type Client struct {
	ID, Secret   string
	RedirectURIs []string

	// GrantedScopes, when non-nil, are the full API scopes consented for the
	// app; a token request that asks for others succeeds as long as at least
	// one is granted, with the others left out of the response's scope
	// (access-tokens.md); none granted gives the documented error.
	GrantedScopes []string
}

// User is a local account. Password may be empty: the user can then sign in
// only with the one-click button on the sign-in page.
type User struct {
	ObjectID, Email, Name, GivenName, FamilyName, Password string
}

// Alice and Bob are the sample users of the local emulator (cmd/b2c-emulator)
// and of the tests that sign in through it. They have no password: the
// emulator's account picker signs them in without one.
var (
	Alice = User{ObjectID: "a11ce000-0000-4000-8000-000000000001", Email: "alice@example.com", Name: "Alice Example", GivenName: "Alice", FamilyName: "Example"}
	Bob   = User{ObjectID: "b0b00000-0000-4000-8000-000000000002", Email: "bob@example.com", Name: "Bob Example", GivenName: "Bob", FamilyName: "Example"}
)

// API is a protected web API. A full scope is AppIDURI + "/" + scope; its
// access tokens carry aud = ClientID and scp = the short scopes, space-joined.
type API struct {
	AppIDURI string
	ClientID string
	Scopes   []string
}

// Config configures Start. Only Tenant is required.
type Config struct {
	Tenant   string // "contoso" serves "contoso.onmicrosoft.com" in paths
	TenantID string // GUID in the issuer and client_info; generated when empty
	Policies []Policy
	Clients  []Client
	Users    []User // listed on the sign-in page
	APIs     []API

	AccessTokenLifetime  time.Duration // default 1h
	IDTokenLifetime      time.Duration // default 1h
	RefreshTokenLifetime time.Duration // default 14 days, B2C's default

	// RefreshTokenReuseDetection makes a refresh token that was already
	// exchanged fail with invalid_grant and revokes every token of its family
	// (RFC 9700 §4.14.2). When false, a rotated refresh token stays valid
	// until it expires.
	RefreshTokenReuseDetection bool

	Now func() time.Time // default time.Now; drives every token time and check

	// StrictLogout applies B2C's rule for a logout request with
	// id_token_hint: post_logout_redirect_uri must match a redirect URI
	// registered for the application the hint was issued to, "otherwise an
	// error message is displayed and the user is not redirected"
	// (openid-connect.md, "Secure your logout redirect"); and an expired hint
	// is refused with the error code error-codes.md lists for it. External ID
	// mode has a rule of its own and ignores this one (externalid_logout.go).
	StrictLogout bool

	// CustomDomain is a second host name, such as "127.0.0.1", that serves the
	// same endpoints on a TLS listener of its own (its certificate names it);
	// requests through it get discovery documents, endpoints and issuers on
	// that host (custom-domain.md).
	CustomDomain string
	// CustomDomainAddr is the listen address of the CustomDomain listener;
	// default CustomDomain:0 when CustomDomain is an IP address, else
	// 127.0.0.1:0 (the name is then advertised, and clients must resolve it
	// to the loopback address themselves).
	CustomDomainAddr string

	// ExternalID makes the tenant a Microsoft Entra External ID tenant
	// instead of a B2C one: authorities https://{host}/{tenant ID} and
	// https://{host}/{tenant}.onmicrosoft.com with no policy segment; one
	// sign-up/sign-in user flow attached to the application (the first Policy of
	// kind SignUpSignInWithReset, or implicitly one when Policies is empty),
	// password reset inside it; no profile-edit flow; ID and access tokens with
	// tid and without tfp/acr; errors as AADSTS codes.
	ExternalID bool

	// Listen addresses; default "127.0.0.1:0" each. In External ID mode the
	// TLS listener must be reachable as 127.0.0.1, the host of the issuer.
	TLSAddr, BrowserAddr, APIAddr string

	Logger *slog.Logger // default discards
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.Tenant == "" {
		return cfg, errors.New("emulator: Config.Tenant is required")
	}
	seen := make(map[string]bool)
	for _, p := range cfg.Policies {
		name := strings.ToLower(p.Name)
		if name == "" || seen[name] {
			return cfg, fmt.Errorf("emulator: policy name %q is empty or repeated", p.Name)
		}
		seen[name] = true
		switch p.PolicyClaim {
		case "", "tfp", "acr", "none":
		default:
			return cfg, fmt.Errorf("emulator: policy %q: PolicyClaim %q is not tfp, acr or none", p.Name, p.PolicyClaim)
		}
		for _, c := range p.ApplicationClaims {
			if !slices.Contains(applicationClaims, c) {
				return cfg, fmt.Errorf("emulator: policy %q: unknown application claim %q", p.Name, c)
			}
		}
	}
	if cfg.ExternalID {
		if len(cfg.Policies) > 0 && !slices.ContainsFunc(cfg.Policies, func(p Policy) bool { return p.Kind == SignUpSignInWithReset }) {
			return cfg, errors.New("emulator: External ID mode needs a Policy of kind SignUpSignInWithReset, or no Policies")
		}
		if cfg.CustomDomain != "" {
			return cfg, errors.New("emulator: CustomDomain is not supported in External ID mode")
		}
	}
	if cfg.TenantID == "" {
		cfg.TenantID = newUUID()
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = time.Hour
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = time.Hour
	}
	if cfg.RefreshTokenLifetime == 0 {
		cfg.RefreshTokenLifetime = 14 * 24 * time.Hour
		if cfg.ExternalID {
			// "90 days for all other scenarios" (refresh-tokens.md, Token lifetime).
			cfg.RefreshTokenLifetime = 90 * 24 * time.Hour
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, addr := range []*string{&cfg.TLSAddr, &cfg.BrowserAddr, &cfg.APIAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
	}
	if cfg.CustomDomain != "" && cfg.CustomDomainAddr == "" {
		cfg.CustomDomainAddr = "127.0.0.1:0"
		if net.ParseIP(cfg.CustomDomain) != nil {
			cfg.CustomDomainAddr = net.JoinHostPort(cfg.CustomDomain, "0")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
