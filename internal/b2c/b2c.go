// Package b2c runs the OpenID Connect authorization code flow against Azure
// AD B2C user flows with MSAL Go, adding what MSAL Go leaves to the app:
// state, nonce and PKCE (RFC 7636), and ID token validation (OpenID Connect
// Core 1.0 §3.1.3.7) against each user flow's own key set.
package b2c

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
)

// Tenant names a B2C tenant and the host that serves its user flows.
// Authorities are built here and nowhere else, so another kind of authority
// (Entra External ID has no policy in the path) is a change to one type.
type Tenant struct {
	Name string // contoso, for contoso.onmicrosoft.com
	Host string // contoso.b2clogin.com, or a custom domain
}

// Authority is the path-form authority of a user flow, the only form MSAL Go
// accepts for B2C.
func (t Tenant) Authority(policy string) string {
	return "https://" + t.Host + "/" + t.Name + ".onmicrosoft.com/" + policy
}

// Config configures a Client.
type Config struct {
	Tenant       Tenant
	ClientID     string
	ClientSecret string
	// Policies are the user flows the app may start.
	Policies []string
	// HTTPClient reaches B2C; NewHTTPClient builds the usual one.
	HTTPClient *http.Client
	// Now is the clock that ID tokens are checked against.
	Now func() time.Time
}

// Client runs sign-ins for one app registration. It is safe for concurrent
// use; the MSAL clients it builds are per call, bound to one token cache.
type Client struct {
	tenant   Tenant
	clientID string
	cred     confidential.Credential
	http     *http.Client
	now      func() time.Time
	policies map[string]*policy
}

// policy is one user flow with its metadata and long-lived key set, both
// set once under mu.
type policy struct {
	name string

	mu       sync.Mutex
	meta     *Metadata
	verifier *oidc.IDTokenVerifier
}

// Metadata is the part of a user flow's discovery document the app uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// New returns a Client. It does no I/O: discovery happens on first use, so a
// cold start answers the host's readiness probe at once.
func New(cfg Config) (*Client, error) {
	cred, err := confidential.NewCredFromSecret(cfg.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("b2c: %w", err)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{tenant: cfg.Tenant, clientID: cfg.ClientID, cred: cred, http: cfg.HTTPClient, now: cfg.Now, policies: map[string]*policy{}}
	for _, name := range cfg.Policies {
		if name != "" {
			c.policies[strings.ToLower(name)] = &policy{name: name}
		}
	}
	return c, nil
}

// NewHTTPClient returns the HTTP client for B2C: a timeout fit for a page
// view, discovery documents memoised for ttl (MSAL clients are per request
// and would otherwise fetch them on every call), and, for the local
// emulator, the extra CA certificates in caFile.
func NewHTTPClient(caFile string, ttl time.Duration) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("b2c: reading CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("b2c: no certificates in %q", caFile)
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &discoveryCache{next: transport, ttl: ttl, now: time.Now, docs: map[string]cachedDoc{}},
	}, nil
}

func (c *Client) policy(name string) (*policy, error) {
	p, ok := c.policies[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("b2c: unknown user flow %q", name)
	}
	return p, nil
}

// MSAL returns an MSAL client for a user flow whose token cache is tc.
// MSAL's docs advise a client per user: one shared client with a
// partitioned cache mixes up users under concurrency.
func (c *Client) MSAL(policyName string, tc cache.ExportReplace) (confidential.Client, error) {
	p, err := c.policy(policyName)
	if err != nil {
		return confidential.Client{}, err
	}
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
		return confidential.Client{}, fmt.Errorf("b2c: %w", err)
	}
	return cl, nil
}

// Metadata returns a user flow's discovery document.
func (c *Client) Metadata(ctx context.Context, policyName string) (*Metadata, error) {
	p, err := c.discovered(ctx, policyName)
	if err != nil {
		return nil, err
	}
	return p.meta, nil
}

// discovered returns the user flow with its metadata and verifier. The
// fetch happens outside the lock, so a slow B2C does not queue requests
// behind each other; the first result to arrive is kept for good.
func (c *Client) discovered(ctx context.Context, policyName string) (*policy, error) {
	p, err := c.policy(policyName)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	done := p.meta != nil
	p.mu.Unlock()
	if done {
		return p, nil
	}
	m, err := c.fetchMetadata(ctx, p.name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.meta == nil {
		// The key set lives as long as the process: it refetches keys when
		// a token names an unknown key ID, which is how B2C key rotation
		// reaches us.
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.http), m.JWKSURI)
		p.verifier = oidc.NewVerifier(m.Issuer, keys, &oidc.Config{
			ClientID:             c.clientID,
			SupportedSigningAlgs: []string{oidc.RS256},
			Now:                  c.now,
		})
		p.meta = m
	}
	return p, nil
}

func (c *Client) fetchMetadata(ctx context.Context, policyName string) (*Metadata, error) {
	u := c.tenant.Authority(policyName) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("b2c: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("b2c: discovery for %q: %w", policyName, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("b2c: discovery for %q: %w", policyName, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("b2c: discovery for %q: status %d", policyName, resp.StatusCode)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("b2c: discovery for %q: %w", policyName, err)
	}
	if m.Issuer == "" || m.JWKSURI == "" || m.AuthorizationEndpoint == "" {
		return nil, fmt.Errorf("b2c: discovery for %q lacks issuer, jwks_uri or authorization_endpoint", policyName)
	}
	return &m, nil
}

// EndSessionURL is where the browser goes to sign out at B2C, taken from
// the discovery document (OpenID Connect RP-Initiated Logout 1.0 §2).
func (c *Client) EndSessionURL(ctx context.Context, policyName, postLogoutRedirectURI, idTokenHint string) (string, error) {
	m, err := c.Metadata(ctx, policyName)
	if err != nil {
		return "", err
	}
	if m.EndSessionEndpoint == "" {
		return "", fmt.Errorf("b2c: user flow %q has no end_session_endpoint", policyName)
	}
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return "", fmt.Errorf("b2c: end_session_endpoint: %w", err)
	}
	q := u.Query()
	q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ErrUnreachable wraps failures to reach B2C at all.
var ErrUnreachable = errors.New("b2c: identity provider unreachable")
