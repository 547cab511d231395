// Package config reads the handler's settings from the environment and
// validates them once, at start-up, so a bad deployment fails with one clear
// line instead of a confusing error at the first sign-in.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// A Setting is one environment variable the handler reads. Settings is the
// single list that the start-up validation, local.settings.sample.json and
// the Bicep consistency test all agree on.
type Setting struct {
	Name        string
	Description string
	// Required settings must be set in every environment.
	Required bool
	// LocalOnly settings serve local development and tests; a deployment
	// never sets them.
	LocalOnly bool
}

// Names of the settings. App settings in Azure and local.settings.json carry
// exactly these.
const (
	TenantName          = "B2C_TENANT_NAME"
	TenantHost          = "B2C_TENANT_HOST"
	SignUpSignInPolicy  = "B2C_SIGNUP_SIGNIN_POLICY"
	ProfileEditPolicy   = "B2C_PROFILE_EDIT_POLICY"
	PasswordResetPolicy = "B2C_PASSWORD_RESET_POLICY"
	ClientID            = "B2C_CLIENT_ID"
	ClientSecret        = "B2C_CLIENT_SECRET"
	CAFile              = "B2C_CA_FILE"
	PublicBaseURL       = "PUBLIC_BASE_URL"
	APIEndpoint         = "API_ENDPOINT"
	APIScopes           = "API_SCOPES"
	TableConnection     = "SESSION_TABLE_CONNECTION_STRING"
	TableEndpoint       = "SESSION_TABLE_ENDPOINT"
	TableName           = "SESSION_TABLE_NAME"
	ManagedIdentityID   = "AZURE_CLIENT_ID"
	IdleTimeout         = "SESSION_IDLE_TIMEOUT"
	AbsoluteTimeout     = "SESSION_ABSOLUTE_TIMEOUT"
	Port                = "FUNCTIONS_CUSTOMHANDLER_PORT"
	LogLevel            = "LOG_LEVEL"
)

// Settings lists every variable the handler reads.
var Settings = []Setting{
	{Name: TenantName, Required: true, Description: "B2C tenant name: contoso in contoso.onmicrosoft.com"},
	{Name: TenantHost, Description: "host serving the user flows; default {tenant}.b2clogin.com, or a custom domain"},
	{Name: SignUpSignInPolicy, Required: true, Description: "sign-up/sign-in user flow, e.g. B2C_1_signupsignin1"},
	{Name: ProfileEditPolicy, Description: "profile-editing user flow; empty hides Edit profile"},
	{Name: PasswordResetPolicy, Description: "password-reset user flow started on AADB2C90118"},
	{Name: ClientID, Required: true, Description: "application (client) ID registered in B2C"},
	{Name: ClientSecret, Required: true, Description: "client secret; a Key Vault reference in Azure"},
	{Name: CAFile, LocalOnly: true, Description: "PEM file of extra CA certificates trusted for the B2C endpoints (the local emulator)"},
	{Name: PublicBaseURL, Required: true, Description: "the app's public origin, e.g. https://app.azurewebsites.net; redirect URIs are built from it, never from request headers"},
	{Name: APIEndpoint, Description: "URL of the protected API that /graphcall calls"},
	{Name: APIScopes, Description: "space-separated scopes of that API"},
	{Name: TableConnection, LocalOnly: true, Description: "Table Storage connection string (Azurite)"},
	{Name: TableEndpoint, Description: "Table Storage endpoint, reached with a managed identity, e.g. https://acct.table.core.windows.net/"},
	{Name: TableName, Description: "table holding sessions; default sessions"},
	{Name: ManagedIdentityID, Description: "client ID of the user-assigned managed identity"},
	{Name: IdleTimeout, Description: "a session unused this long ends; default 1h"},
	{Name: AbsoluteTimeout, Description: "a session ends this long after sign-in; default 12h"},
	{Name: Port, Description: "port to listen on; set by the Functions host, default 8080"},
	{Name: LogLevel, Description: "debug, info, warn or error; default info"},
}

// Config is the validated configuration.
type Config struct {
	TenantName          string
	TenantHost          string
	SignUpSignInPolicy  string
	ProfileEditPolicy   string
	PasswordResetPolicy string
	ClientID            string
	ClientSecret        string
	CAFile              string
	PublicBaseURL       *url.URL
	APIEndpoint         string
	APIScopes           []string
	TableConnection     string
	TableEndpoint       string
	TableName           string
	ManagedIdentityID   string
	IdleTimeout         time.Duration
	AbsoluteTimeout     time.Duration
	Port                string
	LogLevel            slog.Level
}

// RedirectPath is the path of the redirect URI, the article's /getAToken.
// It is fixed because functions/getAToken/function.json names it too.
const RedirectPath = "/getAToken"

// RedirectURI is the absolute redirect URI registered in B2C.
func (c *Config) RedirectURI() string {
	return c.PublicBaseURL.JoinPath(RedirectPath).String()
}

// Load reads and validates the configuration. The error names the first
// variable that is missing or malformed.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	for _, s := range Settings {
		if s.Required && get(s.Name, "") == "" {
			return nil, fmt.Errorf("config: %s is required (%s)", s.Name, s.Description)
		}
	}
	c := &Config{
		TenantName:          get(TenantName, ""),
		SignUpSignInPolicy:  get(SignUpSignInPolicy, ""),
		ProfileEditPolicy:   get(ProfileEditPolicy, ""),
		PasswordResetPolicy: get(PasswordResetPolicy, ""),
		ClientID:            get(ClientID, ""),
		ClientSecret:        get(ClientSecret, ""),
		CAFile:              get(CAFile, ""),
		APIEndpoint:         get(APIEndpoint, ""),
		APIScopes:           strings.Fields(get(APIScopes, "")),
		TableConnection:     get(TableConnection, ""),
		TableEndpoint:       get(TableEndpoint, ""),
		TableName:           get(TableName, "sessions"),
		ManagedIdentityID:   get(ManagedIdentityID, ""),
		Port:                get(Port, "8080"),
	}
	c.TenantHost = get(TenantHost, c.TenantName+".b2clogin.com")

	var errs []error
	check := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", name, err))
		}
	}
	check(TenantName, validName(c.TenantName))
	check(TenantHost, validHost(c.TenantHost))
	for _, p := range []struct{ name, value string }{
		{SignUpSignInPolicy, c.SignUpSignInPolicy}, {ProfileEditPolicy, c.ProfileEditPolicy}, {PasswordResetPolicy, c.PasswordResetPolicy},
	} {
		if p.value != "" {
			check(p.name, validName(p.value))
		}
	}
	var err error
	c.PublicBaseURL, err = parseBaseURL(get(PublicBaseURL, ""))
	check(PublicBaseURL, err)
	if c.APIEndpoint != "" {
		// The bearer token travels to it: https, or http on loopback only.
		u, err := url.Parse(c.APIEndpoint)
		if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			check(APIEndpoint, fmt.Errorf("%q is not an https URL (http only for localhost)", c.APIEndpoint))
		}
		if len(c.APIScopes) == 0 {
			check(APIScopes, errors.New("required when "+APIEndpoint+" is set"))
		}
	}
	switch {
	case c.TableConnection == "" && c.TableEndpoint == "":
		check(TableEndpoint, errors.New("set it (or "+TableConnection+" for Azurite)"))
	case c.TableConnection != "" && c.TableEndpoint != "":
		check(TableEndpoint, errors.New("set it or "+TableConnection+", not both"))
	case c.TableEndpoint != "":
		if u, err := url.Parse(c.TableEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
			check(TableEndpoint, fmt.Errorf("%q is not an https URL (token credentials need https)", c.TableEndpoint))
		}
	}
	check(TableName, validTableName(c.TableName))
	c.IdleTimeout, err = duration(get(IdleTimeout, "1h"))
	check(IdleTimeout, err)
	c.AbsoluteTimeout, err = duration(get(AbsoluteTimeout, "12h"))
	check(AbsoluteTimeout, err)
	if err == nil && c.IdleTimeout > c.AbsoluteTimeout {
		check(IdleTimeout, fmt.Errorf("%v is longer than %s %v", c.IdleTimeout, AbsoluteTimeout, c.AbsoluteTimeout))
	}
	switch level := get(LogLevel, "info"); level {
	case "debug", "info", "warn", "error":
		c.LogLevel.UnmarshalText([]byte(level))
	default:
		check(LogLevel, fmt.Errorf("%q is not one of debug, info, warn, error", level))
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return c, nil
}

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

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%q is not an origin like https://app.example.com", s)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("%q must be https (http only for localhost)", s)
	}
	u.Path = ""
	return u, nil
}

func isLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// validTableName follows Table Storage's rule: 3-63 alphanumerics, not
// starting with a digit.
func validTableName(s string) error {
	if len(s) < 3 || len(s) > 63 || s[0] >= '0' && s[0] <= '9' {
		return fmt.Errorf("%q must be 3-63 letters and digits, not starting with a digit", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("%q must be 3-63 letters and digits, not starting with a digit", s)
		}
	}
	return nil
}

func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 30m or 12h", s)
	}
	return d, nil
}
