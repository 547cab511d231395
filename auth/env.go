package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// An EnvSetting is one environment variable that FromEnv reads.
type EnvSetting struct {
	Name        string
	Description string
	// Required settings must be set in every environment.
	Required bool
	// LocalOnly settings serve local development and tests; a deployment
	// in Azure never sets them.
	LocalOnly bool
	// field is the Config field the setting fills, to name the setting
	// in a *ConfigError.
	field string
}

// Names of the environment variables FromEnv reads.
const (
	EnvIdentityProvider    = "IDENTITY_PROVIDER"
	EnvTenantName          = "B2C_TENANT_NAME"
	EnvTenantHost          = "B2C_TENANT_HOST"
	EnvSignUpSignInPolicy  = "B2C_SIGNUP_SIGNIN_POLICY"
	EnvProfileEditPolicy   = "B2C_PROFILE_EDIT_POLICY"
	EnvPasswordResetPolicy = "B2C_PASSWORD_RESET_POLICY"
	EnvPolicyClaim         = "B2C_POLICY_CLAIM"
	EnvTenantID            = "B2C_TENANT_ID"
	EnvPostLogoutURL       = "POST_LOGOUT_REDIRECT_URI"
	EnvClientID            = "B2C_CLIENT_ID"
	EnvClientSecret        = "B2C_CLIENT_SECRET"
	EnvCAFile              = "B2C_CA_FILE"
	EnvPublicBaseURL       = "PUBLIC_BASE_URL"
	EnvAPIScopes           = "API_SCOPES"
	EnvTableConnection     = "SESSION_TABLE_CONNECTION_STRING"
	EnvTableEndpoint       = "SESSION_TABLE_ENDPOINT"
	EnvTableName           = "SESSION_TABLE_NAME"
	EnvManagedIdentityID   = "AZURE_CLIENT_ID"
	EnvIdleTimeout         = "SESSION_IDLE_TIMEOUT"
	EnvAbsoluteTimeout     = "SESSION_ABSOLUTE_TIMEOUT"
)

// RedirectPath is the path of the redirect URI that FromEnv configures, the
// Flask article's /getAToken.
const RedirectPath = "/getAToken"

// EnvSettings lists every variable FromEnv reads.
var EnvSettings = []EnvSetting{
	{Name: EnvIdentityProvider, Description: "b2c (the default) or external-id: an Azure AD B2C tenant, or a Microsoft Entra External ID one; the other settings keep their names"},
	{Name: EnvTenantName, Required: true, field: "TenantName", Description: "tenant name: contoso in contoso.onmicrosoft.com (External ID: its subdomain)"},
	{Name: EnvTenantHost, field: "TenantHost", Description: "host serving the user flows; default {tenant}.b2clogin.com ({tenant}.ciamlogin.com for External ID), or a custom domain"},
	{Name: EnvSignUpSignInPolicy, Required: true, field: "SignUpSignInPolicy", Description: "sign-up/sign-in user flow, e.g. B2C_1_signupsignin1; unset for External ID, whose user flow is attached to the app"},
	{Name: EnvProfileEditPolicy, field: "ProfileEditPolicy", Description: "profile-editing user flow; empty hides Edit profile"},
	{Name: EnvPasswordResetPolicy, field: "PasswordResetPolicy", Description: "password-reset user flow started on AADB2C90118"},
	{Name: EnvPolicyClaim, field: "PolicyClaim", Description: "claim naming the user flow in ID tokens: tfp or acr (the tenant's \"claim representing policy ID\"); empty accepts either; none for custom policies that emit neither"},
	{Name: EnvTenantID, field: "TenantID", Description: "tenant ID (GUID): required for External ID; for B2C, selects the tenant-ID authority form https://{host}/{tenant ID}/{policy}, as with custom domains"},
	{Name: EnvClientID, Required: true, field: "ClientID", Description: "application (client) ID registered in B2C"},
	{Name: EnvClientSecret, Required: true, field: "ClientSecret", Description: "client secret; a Key Vault reference in Azure"},
	{Name: EnvCAFile, LocalOnly: true, Description: "PEM file of extra CA certificates trusted for the B2C endpoints (the local emulator)"},
	{Name: EnvPublicBaseURL, Required: true, field: "RedirectURL", Description: "the app's public origin, e.g. https://app.azurewebsites.net; redirect URIs are built from it, never from request headers"},
	{Name: EnvPostLogoutURL, field: "PostLogoutURL", Description: "where B2C sends the browser after sign-out; default PUBLIC_BASE_URL/; register it as a redirect URI of the app"},
	{Name: EnvAPIScopes, field: "Scopes", Description: "space-separated scopes of the API the app calls, consented to at sign-in"},
	{Name: EnvTableConnection, LocalOnly: true, Description: "Table Storage connection string (Azurite)"},
	{Name: EnvTableEndpoint, Description: "Table Storage endpoint, reached with a managed identity, e.g. https://acct.table.core.windows.net/"},
	{Name: EnvTableName, Description: "table holding sessions; default sessions"},
	{Name: EnvManagedIdentityID, Description: "client ID of the user-assigned managed identity"},
	{Name: EnvIdleTimeout, field: "IdleTimeout", Description: "a session unused this long ends; default 1h"},
	{Name: EnvAbsoluteTimeout, field: "AbsoluteTimeout", Description: "a session ends this long after sign-in; default 12h"},
}

// FromEnv returns a Service configured from environment variables (see
// EnvSettings), so an app deployed with app settings needs no code of its
// own to configure sign-in. Errors name the variable to fix.
//
//	svc, err := auth.FromEnv(os.Getenv, slog.Default())
func FromEnv(getenv func(string) string, logger *slog.Logger) (*Service, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Logger = logger
	return New(cfg)
}

// ConfigFromEnv reads and validates a Config from environment variables: the
// table client (a connection string for Azurite, or an endpoint reached with
// the managed identity), the HTTP client (trusting B2C_CA_FILE's
// certificates too), and the redirect URL PUBLIC_BASE_URL + RedirectPath.
// The caller may add a Logger, an ErrorHandler and the paths.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var externalID bool
	switch p := get(EnvIdentityProvider); p {
	case "", "b2c":
	case "external-id":
		externalID = true
	default:
		return Config{}, fmt.Errorf("auth: %s: %q is not b2c or external-id", EnvIdentityProvider, p)
	}
	for _, s := range EnvSettings {
		if s.Required && get(s.Name) == "" && !(externalID && s.Name == EnvSignUpSignInPolicy) {
			return Config{}, fmt.Errorf("auth: %s is required (%s)", s.Name, s.Description)
		}
	}
	cfg := Config{
		ExternalID:          externalID,
		TenantName:          get(EnvTenantName),
		TenantHost:          get(EnvTenantHost),
		ClientID:            get(EnvClientID),
		ClientSecret:        get(EnvClientSecret),
		SignUpSignInPolicy:  get(EnvSignUpSignInPolicy),
		ProfileEditPolicy:   get(EnvProfileEditPolicy),
		PasswordResetPolicy: get(EnvPasswordResetPolicy),
		PolicyClaim:         get(EnvPolicyClaim),
		TenantID:            get(EnvTenantID),
		PostLogoutURL:       get(EnvPostLogoutURL),
		Scopes:              strings.Fields(get(EnvAPIScopes)),
	}
	base, err := parseBaseURL(get(EnvPublicBaseURL))
	if err != nil {
		return Config{}, fmt.Errorf("auth: %s: %w", EnvPublicBaseURL, err)
	}
	cfg.RedirectURL = base.JoinPath(RedirectPath).String()
	for name, d := range map[string]*time.Duration{EnvIdleTimeout: &cfg.IdleTimeout, EnvAbsoluteTimeout: &cfg.AbsoluteTimeout} {
		if v := get(name); v != "" {
			if *d, err = time.ParseDuration(v); err != nil || *d <= 0 {
				return Config{}, fmt.Errorf("auth: %s: %q is not a positive duration like 30m or 12h", name, v)
			}
		}
	}
	if cfg.Table, err = tableFromEnv(get); err != nil {
		return Config{}, err
	}
	if cfg.HTTPClient, err = httpClientTrusting(get(EnvCAFile)); err != nil {
		return Config{}, err
	}
	if _, err := cfg.withDefaults(); err != nil {
		return Config{}, envError(err)
	}
	return cfg, nil
}

// EnvName is the environment variable that FromEnv reads into the Config
// field named field, or "" when none does.
func EnvName(field string) string {
	for _, s := range EnvSettings {
		if s.field == field {
			return s.Name
		}
	}
	return ""
}

// envError names the variable behind the first field a *ConfigError names.
func envError(err error) error {
	if ce, ok := errors.AsType[*ConfigError](err); ok && EnvName(ce.Field) != "" {
		return fmt.Errorf("auth: %s: %w", EnvName(ce.Field), ce.Err)
	}
	return err
}

// parseBaseURL accepts an origin: https, or http on localhost.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%q is not an origin like https://app.example.com", s)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname())) {
		return nil, fmt.Errorf("%q must be https (http only for localhost)", s)
	}
	u.Path = ""
	return u, nil
}

// tableFromEnv reaches Table Storage with a connection string (Azurite) or,
// in Azure, an endpoint and a managed identity. Retries are tight: a person
// is waiting on the page.
func tableFromEnv(get func(string) string) (*aztables.Client, error) {
	name := get(EnvTableName)
	if name == "" {
		name = "sessions"
	}
	if err := validTableName(name); err != nil {
		return nil, fmt.Errorf("auth: %s: %w", EnvTableName, err)
	}
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:           policy.RetryOptions{MaxRetries: 2, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second, TryTimeout: 5 * time.Second},
		PerCallPolicies: []policy.Policy{TablePolicy()},
	}}
	conn, endpoint := get(EnvTableConnection), get(EnvTableEndpoint)
	switch {
	case conn == "" && endpoint == "":
		return nil, fmt.Errorf("auth: %s: set it (or %s for Azurite)", EnvTableEndpoint, EnvTableConnection)
	case conn != "" && endpoint != "":
		return nil, fmt.Errorf("auth: %s: set it or %s, not both", EnvTableEndpoint, EnvTableConnection)
	case conn != "":
		svc, err := aztables.NewServiceClientFromConnectionString(conn, opts)
		if err != nil {
			// The SDK's error may quote the connection string, key included.
			return nil, fmt.Errorf("auth: %s is not a Table Storage connection string", EnvTableConnection)
		}
		return svc.NewClient(name), nil
	}
	if u, err := url.Parse(endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("auth: %s: %q is not an https URL (token credentials need https)", EnvTableEndpoint, endpoint)
	}
	var idOpts azidentity.ManagedIdentityCredentialOptions
	if id := get(EnvManagedIdentityID); id != "" {
		idOpts.ID = azidentity.ClientID(id)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&idOpts)
	if err != nil {
		return nil, fmt.Errorf("auth: managed identity: %w", err)
	}
	svc, err := aztables.NewServiceClient(endpoint, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", EnvTableEndpoint, err)
	}
	return svc.NewClient(name), nil
}

// validTableName follows Table Storage's rule: 3-63 alphanumerics, not
// starting with a digit.
func validTableName(s string) error {
	ok := len(s) >= 3 && len(s) <= 63 && !(s[0] >= '0' && s[0] <= '9')
	for _, r := range s {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}
	if !ok {
		return fmt.Errorf("%q must be 3-63 letters and digits, not starting with a digit", s)
	}
	return nil
}

// httpClientTrusting returns the HTTP client for B2C: a timeout fit for a
// page view and, for the local emulator, the extra CA certificates in
// caFile.
func httpClientTrusting(caFile string) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("auth: %s: %w", EnvCAFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("auth: %s: no certificates in %q", EnvCAFile, caFile)
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: transport}, nil
}
