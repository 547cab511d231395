package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// Config configures a Service. The zero value of every optional field is a
// working default.
type Config struct {
	// ExternalID makes the tenant a Microsoft Entra External ID tenant, B2C's
	// successor, instead of an Azure AD B2C one. Its user flow is attached
	// to the app registration, so no policy is set; TenantID is required;
	// password reset lives inside the sign-up/sign-in flow, and there is no
	// profile editing.
	ExternalID bool
	// TenantName is the tenant: contoso for contoso.onmicrosoft.com (for
	// External ID, its subdomain).
	TenantName string
	// TenantHost serves the user flows: TenantName.b2clogin.com by default
	// (TenantName.ciamlogin.com for External ID), or a custom domain.
	TenantHost string
	// ClientID and ClientSecret are the app registration's.
	ClientID     string
	ClientSecret string

	// SignUpSignInPolicy is the user flow that signs users in, such as
	// B2C_1_signupsignin1. ProfileEditPolicy (optional) serves the profile
	// editing handler; PasswordResetPolicy (optional) starts when a user
	// clicks "Forgot your password?" (AADB2C90118).
	SignUpSignInPolicy  string
	ProfileEditPolicy   string
	PasswordResetPolicy string
	// PolicyClaim is the claim that names the user flow in ID tokens, the
	// tenant's "claim representing policy ID" setting: "tfp" or "acr"; ""
	// (the default) accepts either. "none" is for custom policies (B2C_1A_…)
	// that emit neither: a token without one is then accepted, bound to its
	// sign-in by the nonce, and one that names another user flow is still
	// refused.
	PolicyClaim string
	// TenantID, when set, makes authorities take B2C's tenant-ID path form,
	// https://TenantHost/TenantID/policy, the form custom domains document,
	// instead of https://TenantHost/TenantName.onmicrosoft.com/policy.
	TenantID string

	// RedirectURL is the absolute redirect URI registered for the app, such
	// as https://app.example.com/getAToken; the callback handler serves its
	// path. https, or http on localhost.
	RedirectURL string
	// PostLogoutURL is where B2C sends the browser after sign-out: by
	// default HomePath on RedirectURL's origin. B2C follows it only when it
	// is registered as a redirect URI of the app, since sign-out sends
	// id_token_hint ("Secure your logout redirect"): register it too.
	PostLogoutURL string
	// Scopes are the API scopes consented to at sign-in. Without any, the
	// client ID is asked for, B2C's convention for a sign-in-only app.
	Scopes []string

	// Paths the handlers are mounted on and send visitors to.
	LoginPath   string // default /login
	LogoutPath  string // default /logout (POST)
	ProfilePath string // default /editProfile
	HomePath    string // default /: after a cancelled sign-in and a sign-out

	// Table holds sessions, token caches and pending sign-ins. Make its
	// client with TablePolicy among its per-call policies, as FromEnv
	// does, so a page decodes its session row once.
	Table *aztables.Client
	// IdleTimeout ends a session unused this long (default 1h);
	// AbsoluteTimeout ends it this long after sign-in (default 12h).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration

	// HTTPClient reaches B2C; by default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock for sessions and ID tokens; default time.Now.
	Now func() time.Time
	// Logger gets the package's log lines; default slog.Default().
	Logger *slog.Logger
	// ErrorHandler renders every failure of the handlers and middleware,
	// an error that errors.As turns into a *Failure (or another error, for
	// a failure of this package's own). The default writes the status
	// code's text.
	ErrorHandler func(http.ResponseWriter, *http.Request, error)
}

// A ConfigError names the Config field that is missing or malformed.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("auth: Config.%s: %v", e.Field, e.Err) }

func (e *ConfigError) Unwrap() error { return e.Err }

// keyVaultReference starts an app setting that Azure App Service could not
// resolve from Key Vault: the app sees the reference itself
// ("Use Key Vault references as app settings", troubleshooting).
const keyVaultReference = "@Microsoft.KeyVault("

// withDefaults fills the optional fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if c.ExternalID {
		def(&c.TenantHost, c.TenantName+".ciamlogin.com")
	} else {
		def(&c.TenantHost, c.TenantName+".b2clogin.com")
	}
	def(&c.LoginPath, "/login")
	def(&c.LogoutPath, "/logout")
	def(&c.ProfilePath, "/editProfile")
	def(&c.HomePath, "/")
	if c.IdleTimeout == 0 {
		c.IdleTimeout = time.Hour
	}
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = 12 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = plainError
	}

	var errs []error
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, &ConfigError{Field: field, Err: err})
		}
	}
	required := func(field, v string) {
		if v == "" {
			check(field, errors.New("is required"))
		}
	}
	required("TenantName", c.TenantName)
	check("TenantName", validName(c.TenantName))
	check("TenantHost", validHost(c.TenantHost))
	required("ClientID", c.ClientID)
	required("ClientSecret", c.ClientSecret)
	if strings.HasPrefix(c.ClientSecret, keyVaultReference) {
		check("ClientSecret", errors.New("is an unresolved Key Vault reference: grant the app's identity Key Vault Secrets User on the vault and check that the secret exists"))
	}
	switch c.PolicyClaim {
	case "", "tfp", "acr", "none":
	default:
		check("PolicyClaim", fmt.Errorf("%q is not tfp, acr or none", c.PolicyClaim))
	}
	if c.TenantID != "" {
		check("TenantID", validName(c.TenantID))
	}
	if c.PostLogoutURL != "" {
		check("PostLogoutURL", validAbsolute(c.PostLogoutURL))
	}
	if c.ExternalID {
		required("TenantID", c.TenantID)
		for field, v := range map[string]string{"SignUpSignInPolicy": c.SignUpSignInPolicy, "ProfileEditPolicy": c.ProfileEditPolicy, "PasswordResetPolicy": c.PasswordResetPolicy} {
			if v != "" {
				check(field, errors.New("must be empty for External ID, whose user flow is attached to the app registration"))
			}
		}
		c.SignUpSignInPolicy = b2c.ExternalIDFlow
	}
	required("SignUpSignInPolicy", c.SignUpSignInPolicy)
	check("SignUpSignInPolicy", validName(c.SignUpSignInPolicy))
	check("ProfileEditPolicy", validName(c.ProfileEditPolicy))
	check("PasswordResetPolicy", validName(c.PasswordResetPolicy))
	required("RedirectURL", c.RedirectURL)
	if c.RedirectURL != "" {
		check("RedirectURL", validRedirect(c.RedirectURL))
	}
	for field, p := range map[string]string{"LoginPath": c.LoginPath, "LogoutPath": c.LogoutPath, "ProfilePath": c.ProfilePath, "HomePath": c.HomePath} {
		if LocalPath(p) != p {
			check(field, fmt.Errorf("%q is not a local path", p))
		}
	}
	if c.Table == nil {
		check("Table", errors.New("is required"))
	}
	if c.IdleTimeout < 0 || c.AbsoluteTimeout < 0 {
		check("IdleTimeout", errors.New("timeouts must be positive"))
	}
	if c.IdleTimeout > c.AbsoluteTimeout {
		check("IdleTimeout", fmt.Errorf("%v is longer than AbsoluteTimeout %v", c.IdleTimeout, c.AbsoluteTimeout))
	}
	return c, errors.Join(errs...)
}

// redirectPath is the path the callback is served on.
func (c Config) redirectPath() string {
	u, _ := url.Parse(c.RedirectURL) // validated
	return u.Path
}

// postLogoutURL is where B2C sends the browser after signing out.
func (c Config) postLogoutURL() string {
	if c.PostLogoutURL != "" {
		return c.PostLogoutURL
	}
	u, _ := url.Parse(c.RedirectURL)
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: c.HomePath}).String()
}

// validName admits user flow and tenant names: letters, digits, '_', '-'.
func validName(s string) error {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%q may hold only letters, digits, '_' and '-'", s)
		}
	}
	return nil
}

func validHost(s string) error {
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host != s || u.Hostname() == "" {
		return fmt.Errorf("%q is not a host name (no scheme, no path)", s)
	}
	return nil
}

func validRedirect(s string) error {
	if u, err := url.Parse(s); err != nil || u.Path == "" {
		return fmt.Errorf("%q is not an absolute URL like https://app.example.com/getAToken", s)
	}
	return validAbsolute(s)
}

// validAbsolute admits a URL B2C may send the browser to: https, or http on
// localhost, with no query or fragment.
func validAbsolute(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.Path != "" && LocalPath(u.Path) != u.Path {
		return fmt.Errorf("%q is not an absolute URL like https://app.example.com/getAToken", s)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname())) {
		return fmt.Errorf("%q must be https (http only for localhost)", s)
	}
	return nil
}

// IsLoopback reports whether host names this machine, the one place plain
// http is allowed.
func IsLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// TablePolicy is an azcore pipeline policy for the client in Config.Table
// (aztables.ClientOptions.PerCallPolicies): with it a session's point read
// is decoded once, from the response, instead of by the SDK into a map,
// back to JSON, and then by the session, and asks for only the properties
// a page needs ($select). It changes no other request, and without it
// everything works the same, at the SDK's cost.
func TablePolicy() policy.Policy { return session.ReadPolicy{} }
