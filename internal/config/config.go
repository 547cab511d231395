// Package config reads the handler's own settings from the environment and
// validates them once, at start-up, so a bad deployment fails with one clear
// line instead of a confusing error at the first sign-in. The sign-in
// settings are the auth package's (auth.EnvSettings); internal/appsettings
// lists both.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// A Setting is one environment variable the handler reads.
type Setting struct {
	Name        string
	Description string
	// Required settings must be set in every environment.
	Required bool
	// LocalOnly settings serve local development and tests; a deployment
	// never sets them.
	LocalOnly bool
}

// Names of the handler's own settings.
const (
	APIEndpoint = "API_ENDPOINT"
	Port        = "FUNCTIONS_CUSTOMHANDLER_PORT"
	LogLevel    = "LOG_LEVEL"
	// RequestTimeout bounds one request's Table Storage and B2C calls
	// together.
	RequestTimeout = "REQUEST_TIMEOUT"
)

// Bounds of RequestTimeout: an HTTP-triggered function has 230 s to answer
// whatever its functionTimeout ("Azure Functions hosting options",
// Function app time-out duration).
const (
	DefaultRequestTimeout = 30 * time.Second
	hostResponseLimit     = 230 * time.Second
)

// Settings lists the handler's own variables, those beside the sign-in
// settings.
var Settings = []Setting{
	{Name: APIEndpoint, Description: "URL of the protected API that /graphcall calls, with the scopes the sign-in settings name"},
	{Name: Port, Description: "port to listen on; set by the Functions host, default 8080"},
	{Name: LogLevel, Description: "debug, info, warn or error; default info"},
	{Name: RequestTimeout, Description: "deadline of one request across all its Table Storage, B2C and API calls, such as 20s; default 30s, under the 230 s the Functions host gives an HTTP request"},
}

// Config is the handler's own validated configuration.
type Config struct {
	// APIEndpoint is the API /graphcall calls with a token for APIScopes.
	APIEndpoint string
	APIScopes   []string
	Port        string
	LogLevel    slog.Level
	// RequestTimeout is the deadline of one request's calls.
	RequestTimeout time.Duration
}

// Load reads and validates the handler's own settings, and the API's scopes
// from the sign-in setting named apiScopes (auth.EnvAPIScopes), which
// APIEndpoint needs. The error names the first variable that is malformed.
func Load(getenv func(string) string, apiScopes string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		APIEndpoint: get(APIEndpoint, ""),
		APIScopes:   strings.Fields(get(apiScopes, "")),
		Port:        get(Port, "8080"),
	}
	if c.APIEndpoint != "" {
		// The bearer token travels to it: https, or http on loopback only.
		u, err := url.Parse(c.APIEndpoint)
		if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			return nil, fmt.Errorf("config: %s: %q is not an https URL (http only for localhost)", APIEndpoint, c.APIEndpoint)
		}
		if len(c.APIScopes) == 0 {
			return nil, errors.New("config: " + apiScopes + ": required when " + APIEndpoint + " is set")
		}
	}
	switch level := get(LogLevel, "info"); level {
	case "debug", "info", "warn", "error":
		c.LogLevel.UnmarshalText([]byte(level))
	default:
		return nil, fmt.Errorf("config: %s: %q is not one of debug, info, warn, error", LogLevel, level)
	}
	d, err := time.ParseDuration(get(RequestTimeout, DefaultRequestTimeout.String()))
	if err != nil || d <= 0 || d >= hostResponseLimit {
		return nil, fmt.Errorf("config: %s: %q is not a duration between 0 and %v, such as 20s", RequestTimeout, get(RequestTimeout, ""), hostResponseLimit)
	}
	c.RequestTimeout = d
	return c, nil
}

// isLoopback reports whether host is the local host, the one place plain
// http may carry the bearer token to.
func isLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }
