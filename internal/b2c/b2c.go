// Package b2c runs the OpenID Connect authorization code flow against Azure
// AD B2C user flows with MSAL Go, adding what MSAL Go leaves to the app:
// state, nonce and PKCE (RFC 7636), and ID token validation (OpenID Connect
// Core 1.0 §3.1.3.7) against each user flow's own key set.
package b2c

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
)

// Tenant names a B2C tenant and the host that serves its user flows.
// Authorities are built here and nowhere else.
type Tenant struct {
	Name string // contoso, for contoso.onmicrosoft.com
	Host string // contoso.b2clogin.com, contoso.ciamlogin.com, or a custom domain
	// ID, when set, is the tenant's GUID, for the tenant-ID path form
	// ("Enable custom domains for Azure AD B2C"); External ID needs it.
	ID string
	// ExternalID makes it a Microsoft Entra External ID tenant: one
	// sign-up/sign-in user flow, attached to the app registration rather
	// than named in the URL.
	ExternalID bool
}

// ExternalIDFlow is the name the one user flow of an External ID tenant goes
// by in this package and in sessions; External ID never sees it.
const ExternalIDFlow = "signup-signin"

// Authority is the authority of a user flow. For B2C, the path form MSAL Go
// accepts: https://{host}/{tenant}.onmicrosoft.com/{policy}, or
// https://{host}/{tenant ID}/{policy}. For External ID,
// https://{host}/{tenant ID} ("Microsoft Entra External ID: authority",
// microsoft-identity-web's CIAM authority examples).
func (t Tenant) Authority(policy string) string {
	tenant := t.Name + ".onmicrosoft.com"
	if t.ID != "" {
		tenant = t.ID
	}
	if t.ExternalID {
		return "https://" + t.Host + "/" + tenant
	}
	return "https://" + t.Host + "/" + tenant + "/" + policy
}

// Config configures a Client.
type Config struct {
	Tenant       Tenant
	ClientID     string
	ClientSecret string
	// Policies are the user flows the app may start.
	Policies []string
	// HTTPClient reaches B2C; the Client adds its discovery cache to it.
	HTTPClient *http.Client
	// DiscoveryTTL is how long a discovery document is kept; default 1h.
	DiscoveryTTL time.Duration
	// PolicyClaim is the claim that names the user flow in ID tokens: "tfp"
	// or "acr" (the tenant's "claim representing policy ID" setting), ""
	// for either, or "none" for custom policies that emit neither.
	PolicyClaim string
	// Now is the clock that ID tokens are checked against.
	Now func() time.Time
}

// Client runs sign-ins for one app registration. It is safe for concurrent
// use; the MSAL clients it builds are per call, bound to one token cache.
type Client struct {
	tenant    Tenant
	clientID  string
	cred      confidential.Credential
	http      *http.Client // through the discovery cache
	keysHTTP  *http.Client // key sets: not cached, statuses as errors
	discovery *discoveryCache
	claim     string // Config.PolicyClaim
	now       func() time.Time
	policies  map[string]*policy
}

// policy is one user flow with the verifier for the issuer and key set its
// discovery document names; the verifier is rebuilt only when those change.
type policy struct {
	name string

	mu       sync.Mutex
	meta     Metadata // what verifier was built from
	verifier *oidc.IDTokenVerifier
	// refreshed is when a failed verification last refetched discovery.
	refreshed time.Time
}

// refreshEvery bounds how often a token that fails verification refetches
// its user flow's discovery document: forged tokens must not make the app
// hammer B2C.
const refreshEvery = time.Minute

// mayRefresh reports whether a failed verification may refetch discovery
// now, and if so records that it does.
func (p *policy) mayRefresh(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.refreshed) < refreshEvery {
		return false
	}
	p.refreshed = now
	return true
}

// New returns a Client. It does no I/O: discovery happens on first use, so a
// cold start answers the host's readiness probe at once.
func New(cfg Config) (*Client, error) {
	cred, err := confidential.NewCredFromSecret(cfg.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("b2c: %w", err)
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 10 * time.Second}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	if cfg.DiscoveryTTL == 0 {
		cfg.DiscoveryTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch cfg.PolicyClaim {
	case "", "tfp", "acr", "none":
	default:
		return nil, &MisconfiguredError{Setting: "PolicyClaim", Reason: fmt.Sprintf("%q is not tfp, acr, none or empty", cfg.PolicyClaim)}
	}
	c := &Client{tenant: cfg.Tenant, clientID: cfg.ClientID, cred: cred, claim: cfg.PolicyClaim, now: cfg.Now, policies: map[string]*policy{}}
	timeout := base.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	c.discovery = &discoveryCache{next: tokenObserver{next}, ttl: cfg.DiscoveryTTL, timeout: timeout, now: cfg.Now,
		validate: c.validateMetadata, docs: map[string]*docEntry{}, alignIssuer: cfg.Tenant.ExternalID}
	c.http = &http.Client{Timeout: base.Timeout, Jar: base.Jar, Transport: c.discovery}
	c.keysHTTP = &http.Client{Timeout: base.Timeout, Transport: keyFetchErrors{next: next}}
	if cfg.Tenant.ExternalID {
		if cfg.Tenant.ID == "" {
			return nil, &MisconfiguredError{Setting: "TenantID", Reason: "an External ID tenant needs its tenant ID"}
		}
		cfg.Policies = []string{ExternalIDFlow}
	}
	for _, name := range cfg.Policies {
		if name != "" {
			c.policies[strings.ToLower(name)] = &policy{name: name}
		}
	}
	return c, nil
}

func (c *Client) policy(name string) (*policy, error) {
	p, ok := c.policies[strings.ToLower(name)]
	if !ok {
		return nil, &MisconfiguredError{Setting: "SignUpSignInPolicy", Policy: name, Reason: fmt.Sprintf("user flow %q is not configured", name)}
	}
	return p, nil
}

// msal returns an MSAL client for a user flow whose token cache is tc.
// MSAL's docs advise a client per user: one shared client with a
// partitioned cache mixes up users under concurrency.
func (c *Client) msal(p *policy, tc cache.ExportReplace) (confidential.Client, error) {
	opts := []confidential.Option{
		// B2C hosts are unknown to Entra instance discovery; it would fail.
		confidential.WithInstanceDiscovery(false),
		confidential.WithHTTPClient(c.http),
	}
	if tc != nil {
		opts = append(opts, confidential.WithCache(tc))
	}
	cl, err := confidential.New(c.tenant.Authority(p.name), c.clientID, c.cred, opts...)
	if err != nil {
		return confidential.Client{}, fmt.Errorf("b2c: %w: %v", ErrMisconfigured, err)
	}
	return cl, nil
}

// Metadata returns a user flow's discovery document, from the cache that
// MSAL's requests go through too: at most one fetch per document at a time,
// none while a fresh one is cached or while fetches back off.
func (c *Client) Metadata(ctx context.Context, policyName string) (*Metadata, error) {
	p, err := c.policy(policyName)
	if err != nil {
		return nil, err
	}
	return c.metadata(ctx, p)
}

func (c *Client) metadata(ctx context.Context, p *policy) (*Metadata, error) {
	return c.fetchMetadata(ctx, p, false)
}

func (c *Client) fetchMetadata(ctx context.Context, p *policy, fresh bool) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.tenant.Authority(p.name)+"/v2.0/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fmt.Errorf("b2c: %w: %v", ErrMisconfigured, err)
	}
	m, err := c.discovery.metadata(req, fresh)
	if me, ok := errors.AsType[*MisconfiguredError](err); ok && me.Policy == "" {
		me.Policy = p.name
	}
	if err != nil {
		return nil, fmt.Errorf("b2c: user flow %q: %w", p.name, err)
	}
	return m, nil
}

// validateMetadata refuses a discovery document before it is cached. An
// External ID document's issuer, on a host of its own, is what ID tokens are
// checked against: it must be the tenant's,
// https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0 ("Token endpoints and
// issuers", Microsoft identity platform), or on the configured host (a
// custom URL domain), never any host with the right path.
func (c *Client) validateMetadata(m *Metadata) error {
	if err := requireEndpoints(m); err != nil || !c.tenant.ExternalID {
		return err
	}
	u, _ := url.Parse(m.Issuer)
	if !strings.EqualFold(strings.TrimSuffix(u.Path, "/"), "/"+c.tenant.ID+"/v2.0") {
		return &MisconfiguredError{Setting: "TenantID", Reason: fmt.Sprintf("the discovery document's issuer %s does not name tenant %s", m.Issuer, c.tenant.ID)}
	}
	if !strings.EqualFold(u.Host, c.tenant.ID+".ciamlogin.com") && !strings.EqualFold(u.Host, c.tenant.Host) {
		return &MisconfiguredError{Setting: "TenantHost", Reason: fmt.Sprintf("the discovery document's issuer %s is on neither %s.ciamlogin.com nor %s", m.Issuer, c.tenant.ID, c.tenant.Host)}
	}
	return nil
}

// verifier returns the ID token verifier of a user flow, for the issuer and
// key set its current discovery document names.
func (c *Client) verifier(ctx context.Context, p *policy) (*oidc.IDTokenVerifier, error) {
	m, err := c.metadata(ctx, p)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifier == nil || p.meta.Issuer != m.Issuer || p.meta.JWKSURI != m.JWKSURI {
		// The key set lives as long as the document names it: it refetches
		// keys when a token names an unknown key ID, which is how B2C key
		// rotation reaches us.
		remote := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.keysHTTP), m.JWKSURI)
		p.verifier = oidc.NewVerifier(m.Issuer, keySet{remote}, &oidc.Config{
			ClientID:             c.clientID,
			SupportedSigningAlgs: []string{oidc.RS256},
			// Without the monotonic reading, which would show in the
			// reason a skewed clock gives ("m=+28.8").
			Now: func() time.Time { return c.now().Round(0) },
		})
		p.meta = *m
	}
	return p.verifier, nil
}

// keySet passes a failure to fetch keys back to Verify through the context:
// go-oidc's verifier flattens it to text.
type keySet struct{ remote *oidc.RemoteKeySet }

type fetchErrKey struct{}

func (k keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if transportFailure(err) {
		if slot, ok := ctx.Value(fetchErrKey{}).(*error); ok {
			*slot = err
		}
	}
	return payload, err
}

// EndSessionURL is where the browser goes to sign out at B2C, taken from
// the discovery document (OpenID Connect RP-Initiated Logout 1.0 §2).
func (c *Client) EndSessionURL(ctx context.Context, policyName, postLogoutRedirectURI, idTokenHint string) (string, error) {
	m, err := c.Metadata(ctx, policyName)
	if err != nil {
		return "", err
	}
	if m.EndSessionEndpoint == "" {
		return "", fmt.Errorf("b2c: user flow %q: %w: no end_session_endpoint", policyName, ErrMisconfigured)
	}
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return "", fmt.Errorf("b2c: end_session_endpoint: %w: %v", ErrMisconfigured, err)
	}
	q := u.Query()
	q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// An AccessToken is an access token and when MSAL would stop serving it
// from its cache.
type AccessToken struct {
	Token string
	// RefreshAt is when MSAL refreshes it instead: 5 minutes before it
	// expires (MSAL Go's AccessToken.Validate), or at the refresh_in the
	// token response gave, if sooner.
	RefreshAt time.Time
}

// MSAL Go refreshes an access token this long before it expires.
const refreshWindow = 5 * time.Minute

// AcquireTokenSilent returns an access token for scopes from the token cache
// tc, for the account accountID of a user flow, refreshing it when MSAL says
// so. ErrNoAccount and ErrRefused mean the user must sign in again.
func (c *Client) AcquireTokenSilent(ctx context.Context, policyName, accountID string, scopes []string, tc cache.ExportReplace) (AccessToken, error) {
	p, err := c.policy(policyName)
	if err != nil {
		return AccessToken{}, err
	}
	// Discovery first, from the cache: MSAL flattens its own discovery
	// failures to text.
	if _, err := c.metadata(ctx, p); err != nil {
		return AccessToken{}, err
	}
	rc := &recordingCache{ExportReplace: tc}
	cl, err := c.msal(p, rc)
	if err != nil {
		return AccessToken{}, err
	}
	acc, err := cl.Account(ctx, accountID)
	if err != nil || acc.HomeAccountID == "" {
		return AccessToken{}, ErrNoAccount
	}
	ctx, reply := withTokenReply(ctx)
	res, err := cl.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acc))
	switch {
	case err == nil:
		at := AccessToken{Token: res.AccessToken, RefreshAt: res.ExpiresOn.Add(-refreshWindow)}
		if r := res.Metadata.RefreshOn; !r.IsZero() && r.Before(at.RefreshAt) {
			at.RefreshAt = r
		}
		return at, nil
	case rc.err != nil:
		// The cache's own failure (a lost race, storage down) is the
		// caller's to handle: pass it on as it is.
		return AccessToken{}, rc.err
	}
	err = msalError("silent token", err, scopes, reply)
	if _, ok := errors.AsType[*oauthError](err); ok {
		return AccessToken{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return AccessToken{}, err
}

// recordingCache remembers the error of the last failed Export, which MSAL
// passes back inside its own.
type recordingCache struct {
	cache.ExportReplace
	err error
}

func (r *recordingCache) Export(ctx context.Context, m cache.Marshaler, h cache.ExportHints) error {
	err := r.ExportReplace.Export(ctx, m, h)
	if err != nil {
		r.err = err
	}
	return err
}
