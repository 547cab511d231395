package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// A flow is a configured user flow and the setting that names it.
type flow struct {
	policy, setting string
}

func (f flow) title(extID bool) string {
	if extID {
		return "External ID authority"
	}
	return "user flow " + f.policy
}

func (d *doctor) flows() []flow {
	if d.extID {
		return []flow{{setting: auth.EnvTenantID}}
	}
	var fs []flow
	for _, f := range []flow{
		{d.cfg.SignUpSignInPolicy, auth.EnvSignUpSignInPolicy},
		{d.cfg.ProfileEditPolicy, auth.EnvProfileEditPolicy},
		{d.cfg.PasswordResetPolicy, auth.EnvPasswordResetPolicy},
	} {
		if f.policy != "" {
			fs = append(fs, f)
		}
	}
	return fs
}

// authority is the user flow's authority as the app builds it: B2C's path
// form https://{host}/{tenant}.onmicrosoft.com/{policy} (or the tenant-ID
// form), External ID's https://{host}/{tenant ID}.
func (d *doctor) authority(f flow) string {
	tenant := d.cfg.TenantName + ".onmicrosoft.com"
	if d.cfg.TenantID != "" {
		tenant = d.cfg.TenantID
	}
	if d.extID {
		return "https://" + d.host + "/" + d.cfg.TenantID
	}
	return "https://" + d.host + "/" + tenant + "/" + f.policy
}

func (d *doctor) postLogoutURL() string {
	if d.cfg.PostLogoutURL != "" {
		return d.cfg.PostLogoutURL
	}
	u, _ := url.Parse(d.cfg.RedirectURL) // validated by ConfigFromEnv
	home := d.cfg.HomePath
	if home == "" {
		home = "/"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: home}).String()
}

// metadata is the part of a discovery document the checks read.
type metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// checkFlow fetches a user flow's discovery document and key set.
func (d *doctor) checkFlow(ctx context.Context, f flow) (*metadata, result) {
	name := f.title(d.extID)
	fixName := fmt.Sprintf("create the user flow %q in the tenant (Azure portal: Azure AD B2C, User flows) or correct %s", f.policy, f.setting)
	if d.extID {
		fixName = "correct " + auth.EnvTenantName + ", " + auth.EnvTenantHost + " or " + auth.EnvTenantID
	}
	doc := d.authority(f) + "/v2.0/.well-known/openid-configuration"
	var m metadata
	status, body, err := d.get(ctx, doc, &m)
	switch {
	case err != nil && status == 0:
		return nil, failed(name, "check "+auth.EnvTenantHost+" (locally also "+auth.EnvCAFile+")", "%s unreachable: %v", doc, err)
	case status >= 400 && status < 500:
		what := "the tenant has no such user flow"
		if d.extID {
			what = "no such tenant"
		}
		return nil, failed(name, fixName, "the discovery document answered %d%s: %s", status, codeSuffix(body), what)
	case status != http.StatusOK:
		return nil, failed(name, "try again; if it persists, check the service health of the tenant", "the discovery document answered %d", status)
	case err != nil:
		return nil, failed(name, "check "+auth.EnvTenantHost+": it must serve the tenant's user flows", "the discovery document is not JSON: %v", err)
	case m.Issuer == "" || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "":
		return nil, failed(name, "check "+auth.EnvTenantHost+": it must serve the tenant's user flows", "the discovery document lacks issuer, authorization_endpoint, token_endpoint or jwks_uri")
	}
	if !issuerAccepted(m.Issuer, d.host, d.cfg.TenantID, d.extID) {
		if d.extID {
			return nil, failed(name, "check "+auth.EnvTenantID+": it must be the tenant's ID",
				"issuer %s does not name tenant %s (https://{host}/{tenant ID}/v2.0)", m.Issuer, d.cfg.TenantID)
		}
		return nil, failed(name, "set "+auth.EnvTenantHost+" to the host the tenant's tokens name (a custom domain, or B2C_TENANT_ID for the tenant-ID form)",
			"issuer %s is not on %s, which MSAL refuses", m.Issuer, d.host)
	}
	if m.EndSessionEndpoint == "" {
		return nil, failed(name, "check "+auth.EnvTenantHost+": sign-out needs the user flow's end_session_endpoint", "the discovery document has no end_session_endpoint")
	}
	keys, err := d.rs256Keys(ctx, m.JWKSURI)
	if err != nil {
		return nil, failed(name, "check the tenant's policy keys (Identity Experience Framework, Policy keys) and "+auth.EnvTenantHost, "key set %s: %v", m.JWKSURI, err)
	}
	if keys == 0 {
		return nil, failed(name, "the app verifies ID tokens with RS256 only: give the user flow an RSA signing key", "key set %s holds no RS256 key", m.JWKSURI)
	}
	return &m, ok(name, "discovery document, issuer %s, %d RS256 key(s), end_session_endpoint", m.Issuer, keys)
}

// issuerAccepted reports whether an issuer has the form MSAL Go accepts for
// the authority's host, or, for External ID, the tenant-ID form its
// discovery documents name (https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0,
// which the app aligns for MSAL and verifies ID tokens against).
func issuerAccepted(issuer, host, tenantID string, extID bool) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" {
		return false
	}
	if !extID {
		return strings.EqualFold(u.Host, host)
	}
	// External ID names the tenant in the issuer's path, on a host of its
	// own (https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0): the app
	// shows MSAL the issuer on the authority's host and checks the real one.
	return tenantID != "" && strings.EqualFold(strings.TrimSuffix(u.Path, "/"), "/"+tenantID+"/v2.0")
}

// signInScopes are the resource scopes a sign-in-only app asks for, as the
// app does: B2C's convention, its client ID; External ID takes the OpenID
// Connect scopes, and refuses a bare client ID (AADSTS70011).
func (d *doctor) signInScopes() []string {
	if d.extID {
		return []string{"openid", "profile"}
	}
	return []string{d.cfg.ClientID}
}

// rs256Keys counts the RSA signing keys of a key set usable with RS256.
func (d *doctor) rs256Keys(ctx context.Context, jwksURI string) (int, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	status, _, err := d.get(ctx, jwksURI, &set)
	if status != 0 && status != http.StatusOK {
		return 0, fmt.Errorf("answered %d", status)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range set.Keys {
		if k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256") && (k.Use == "" || k.Use == "sig") && k.N != "" && k.E != "" {
			n++
		}
	}
	return n, nil
}
