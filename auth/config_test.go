package auth_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// validConfig is a Config that New accepts. New does no I/O, so the table
// client points nowhere in particular.
func validConfig(t *testing.T) auth.Config {
	t.Helper()
	table, err := aztables.NewClientWithNoCredential("https://acct.table.core.windows.net/sessions", nil)
	if err != nil {
		t.Fatal(err)
	}
	return auth.Config{
		TenantName:         "contoso",
		ClientID:           testenv.ClientID,
		ClientSecret:       "secret",
		SignUpSignInPolicy: testenv.SignUpSignIn,
		RedirectURL:        "https://app.example.com/getAToken",
		Table:              table,
	}
}

// configFields lists the fields the *ConfigError values in err name.
func configFields(err error) []string {
	var fields []string
	var walk func(error)
	walk = func(err error) {
		if ce, ok := err.(*auth.ConfigError); ok {
			fields = append(fields, ce.Field)
			return
		}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return fields
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*auth.Config)
		field  string
	}{
		{"no tenant name", func(c *auth.Config) { c.TenantName = "" }, "TenantName"},
		{"tenant domain for a name", func(c *auth.Config) { c.TenantName = "contoso.onmicrosoft.com" }, "TenantName"},
		{"tenant host with a scheme", func(c *auth.Config) { c.TenantHost = "https://contoso.b2clogin.com" }, "TenantHost"},
		{"no client ID", func(c *auth.Config) { c.ClientID = "" }, "ClientID"},
		{"no client secret", func(c *auth.Config) { c.ClientSecret = "" }, "ClientSecret"},
		{"unresolved Key Vault reference", func(c *auth.Config) {
			c.ClientSecret = "@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/b2c-secret/)"
		}, "ClientSecret"},
		{"no sign-in user flow", func(c *auth.Config) { c.SignUpSignInPolicy = "" }, "SignUpSignInPolicy"},
		{"user flow with a slash", func(c *auth.Config) { c.SignUpSignInPolicy = "B2C_1_susi/../x" }, "SignUpSignInPolicy"},
		{"profile flow with a space", func(c *auth.Config) { c.ProfileEditPolicy = "B2C_1 edit" }, "ProfileEditPolicy"},
		{"no redirect URL", func(c *auth.Config) { c.RedirectURL = "" }, "RedirectURL"},
		{"redirect URL on http, public host", func(c *auth.Config) { c.RedirectURL = "http://app.example.com/getAToken" }, "RedirectURL"},
		{"redirect URL with a query", func(c *auth.Config) { c.RedirectURL = "https://app.example.com/getAToken?x=1" }, "RedirectURL"},
		{"redirect URL without a path", func(c *auth.Config) { c.RedirectURL = "https://app.example.com" }, "RedirectURL"},
		{"relative redirect URL", func(c *auth.Config) { c.RedirectURL = "/getAToken" }, "RedirectURL"},
		{"no table", func(c *auth.Config) { c.Table = nil }, "Table"},
		{"idle timeout past the absolute one", func(c *auth.Config) {
			c.IdleTimeout, c.AbsoluteTimeout = 2*time.Hour, time.Hour
		}, "IdleTimeout"},
		{"negative timeout", func(c *auth.Config) { c.IdleTimeout = -time.Minute }, "IdleTimeout"},
		{"login path on another host", func(c *auth.Config) { c.LoginPath = "https://evil.example/login" }, "LoginPath"},
		{"protocol-relative login path", func(c *auth.Config) { c.LoginPath = "//evil.example/login" }, "LoginPath"},
		{"relative logout path", func(c *auth.Config) { c.LogoutPath = "logout" }, "LogoutPath"},
		{"home path with a backslash", func(c *auth.Config) { c.HomePath = "/\\evil.example" }, "HomePath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.change(&cfg)
			svc, err := auth.New(cfg)
			var ce *auth.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New: err = %v (%T), want a *auth.ConfigError", err, err)
			}
			if svc != nil {
				t.Error("New returned a Service with its error")
			}
			if ce.Field != tt.field || ce.Err == nil {
				t.Errorf("ConfigError names %q (cause %v), want %q", ce.Field, ce.Err, tt.field)
			}
			if fields := configFields(err); !slices.Equal(fields, []string{tt.field}) {
				t.Errorf("errors for fields %v, want only %q", fields, tt.field)
			}
		})
	}
}

func TestNewAcceptsValidConfigs(t *testing.T) {
	tests := []struct {
		name   string
		change func(*auth.Config)
	}{
		{"defaults", func(*auth.Config) {}},
		{"http on localhost", func(c *auth.Config) { c.RedirectURL = "http://localhost:7071/getAToken" }},
		{"http on 127.0.0.1", func(c *auth.Config) { c.RedirectURL = "http://127.0.0.1:7071/getAToken" }},
		{"custom domain and paths", func(c *auth.Config) {
			c.TenantHost = "login.contoso.com"
			c.LoginPath, c.LogoutPath, c.ProfilePath, c.HomePath = "/auth/in", "/auth/out", "/auth/profile", "/start"
		}},
		{"equal timeouts", func(c *auth.Config) { c.IdleTimeout, c.AbsoluteTimeout = time.Hour, time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.change(&cfg)
			if _, err := auth.New(cfg); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// validEnv holds settings that ConfigFromEnv accepts, with Azurite's
// connection string (ConfigFromEnv does no I/O).
func validEnv() map[string]string {
	return map[string]string{
		auth.EnvTenantName:         "contoso",
		auth.EnvSignUpSignInPolicy: testenv.SignUpSignIn,
		auth.EnvClientID:           testenv.ClientID,
		auth.EnvClientSecret:       "secret",
		auth.EnvPublicBaseURL:      "https://app.example.com",
		auth.EnvTableConnection: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + testenv.AzuriteAccountKey +
			";TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
	}
}

func TestConfigFromEnv(t *testing.T) {
	e := validEnv()
	e[auth.EnvPublicBaseURL] = "http://localhost:7071/"
	e[auth.EnvAPIScopes] = " " + testenv.APIScope + "  offline_access "
	e[auth.EnvIdleTimeout] = "30m"
	cfg, err := auth.ConfigFromEnv(env(e))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RedirectURL != "http://localhost:7071/getAToken" {
		t.Errorf("RedirectURL = %q", cfg.RedirectURL)
	}
	if !slices.Equal(cfg.Scopes, []string{testenv.APIScope, "offline_access"}) {
		t.Errorf("Scopes = %q", cfg.Scopes)
	}
	if cfg.IdleTimeout != 30*time.Minute || cfg.Table == nil || cfg.HTTPClient == nil {
		t.Errorf("IdleTimeout %v, Table %v, HTTPClient %v", cfg.IdleTimeout, cfg.Table, cfg.HTTPClient)
	}
}

func TestConfigFromEnvNamesVariable(t *testing.T) {
	tests := []struct {
		name     string
		change   map[string]string // "" deletes the setting
		variable string
	}{
		{"no tenant", map[string]string{auth.EnvTenantName: ""}, auth.EnvTenantName},
		{"no user flow", map[string]string{auth.EnvSignUpSignInPolicy: ""}, auth.EnvSignUpSignInPolicy},
		{"no client ID", map[string]string{auth.EnvClientID: ""}, auth.EnvClientID},
		{"blank client secret", map[string]string{auth.EnvClientSecret: "  "}, auth.EnvClientSecret},
		{"no base URL", map[string]string{auth.EnvPublicBaseURL: ""}, auth.EnvPublicBaseURL},
		{"unresolved Key Vault reference", map[string]string{
			auth.EnvClientSecret: "@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/b2c-secret/)",
		}, auth.EnvClientSecret},
		{"bad tenant name", map[string]string{auth.EnvTenantName: "contoso.onmicrosoft.com"}, auth.EnvTenantName},
		{"bad profile flow", map[string]string{auth.EnvProfileEditPolicy: "B2C_1 edit"}, auth.EnvProfileEditPolicy},
		{"tenant host with a path", map[string]string{auth.EnvTenantHost: "login.contoso.com/x"}, auth.EnvTenantHost},
		{"table name with a dash", map[string]string{auth.EnvTableName: "my-sessions"}, auth.EnvTableName},
		{"table name starting with a digit", map[string]string{auth.EnvTableName: "1sessions"}, auth.EnvTableName},
		{"short table name", map[string]string{auth.EnvTableName: "ab"}, auth.EnvTableName},
		{"http origin on a public host", map[string]string{auth.EnvPublicBaseURL: "http://app.example.com"}, auth.EnvPublicBaseURL},
		{"base URL with a path", map[string]string{auth.EnvPublicBaseURL: "https://app.example.com/app"}, auth.EnvPublicBaseURL},
		{"base URL with a query", map[string]string{auth.EnvPublicBaseURL: "https://app.example.com/?x=1"}, auth.EnvPublicBaseURL},
		{"idle timeout not a duration", map[string]string{auth.EnvIdleTimeout: "soon"}, auth.EnvIdleTimeout},
		{"zero absolute timeout", map[string]string{auth.EnvAbsoluteTimeout: "0s"}, auth.EnvAbsoluteTimeout},
		{"idle timeout past the absolute one", map[string]string{auth.EnvIdleTimeout: "13h"}, auth.EnvIdleTimeout},
		{"no table at all", map[string]string{auth.EnvTableConnection: ""}, auth.EnvTableEndpoint},
		{"connection string and endpoint", map[string]string{auth.EnvTableEndpoint: "https://acct.table.core.windows.net/"}, auth.EnvTableEndpoint},
		{"endpoint on http", map[string]string{auth.EnvTableConnection: "", auth.EnvTableEndpoint: "http://acct.table.core.windows.net/"}, auth.EnvTableEndpoint},
		{"missing CA file", map[string]string{auth.EnvCAFile: filepath.Join(os.TempDir(), "no-such-dir-"+rand.Text(), "ca.pem")}, auth.EnvCAFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEnv()
			for k, v := range tt.change {
				if v == "" {
					delete(e, k)
				} else {
					e[k] = v
				}
			}
			_, err := auth.ConfigFromEnv(env(e))
			if err == nil {
				t.Fatal("ConfigFromEnv accepted the settings")
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Fatalf("error %q does not name %s", err, tt.variable)
			}
		})
	}
}

func TestConfigFromEnvCAFileWithoutCertificates(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := validEnv()
	e[auth.EnvCAFile] = caFile
	if _, err := auth.ConfigFromEnv(env(e)); err == nil || !strings.Contains(err.Error(), auth.EnvCAFile) {
		t.Fatalf("ConfigFromEnv with an empty CA file: %v", err)
	}
}

// A connection string that does not parse is reported by its variable's
// name, never quoted: it holds the account key.
func TestConfigFromEnvHidesConnectionString(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte(rand.Text() + rand.Text()))
	tests := []struct{ name, conn string }{
		{"no account name", "DefaultEndpointsProtocol=https;AccountKey=" + key + ";EndpointSuffix=core.windows.net"},
		{"key not base64", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + "*!;EndpointSuffix=core.windows.net"},
		{"segment without a value", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEnv()
			e[auth.EnvTableConnection] = tt.conn
			_, err := auth.ConfigFromEnv(env(e))
			if err == nil {
				t.Fatal("ConfigFromEnv accepted the connection string")
			}
			if !strings.Contains(err.Error(), auth.EnvTableConnection) {
				t.Errorf("error %q does not name %s", err, auth.EnvTableConnection)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "AccountKey") {
				t.Errorf("error quotes the connection string: %q", err)
			}
		})
	}
}

// FromEnv against the real stand-ins: the CA file makes the emulator's TLS
// certificate trusted, the connection string reaches Azurite.
func TestFromEnvReady(t *testing.T) {
	s := startSite(t, siteOptions{})
	az := testenv.SharedAzurite(t)
	tableName, _ := az.NewTable(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, s.Emu.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := auth.FromEnv(env(map[string]string{
		auth.EnvTenantName:         "contoso",
		auth.EnvTenantHost:         s.Emu.TLSHost(),
		auth.EnvSignUpSignInPolicy: testenv.SignUpSignIn,
		auth.EnvClientID:           testenv.ClientID,
		auth.EnvClientSecret:       s.Secret,
		auth.EnvCAFile:             caFile,
		auth.EnvPublicBaseURL:      s.URL,
		auth.EnvTableConnection:    az.ConnectionString(),
		auth.EnvTableName:          tableName,
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}
