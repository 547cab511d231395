package config

import (
	"strings"
	"testing"
	"time"
)

func valid() map[string]string {
	return map[string]string{
		TenantName:         "contoso",
		SignUpSignInPolicy: "B2C_1_signupsignin1",
		ClientID:           "11111111-2222-4333-8444-555555555555",
		ClientSecret:       "s3cret",
		PublicBaseURL:      "https://app.example.com",
		TableEndpoint:      "https://acct.table.core.windows.net/",
	}
}

func TestLoadDefaults(t *testing.T) {
	env := valid()
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantHost != "contoso.b2clogin.com" || c.TableName != "sessions" || c.Port != "8080" ||
		c.IdleTimeout != time.Hour || c.AbsoluteTimeout != 12*time.Hour || c.RedirectURI() != "https://app.example.com/getAToken" {
		t.Fatalf("defaults: %+v, redirect %q", c, c.RedirectURI())
	}
}

// Every bad value stops start-up with an error naming its variable.
func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, value string
		extra       map[string]string
	}{
		{TenantName, "", nil},
		{TenantName, "con/toso", nil},
		{ClientSecret, "", nil},
		{TenantHost, "https://login.example.com", nil},
		{SignUpSignInPolicy, "B2C 1", nil},
		{PublicBaseURL, "http://app.example.com", nil}, // http only for localhost
		{PublicBaseURL, "https://app.example.com/sub", nil},
		{PublicBaseURL, "app.example.com", nil},
		{APIEndpoint, "ftp://api", map[string]string{APIScopes: "s"}},
		{APIEndpoint, "http://api.example.com/", map[string]string{APIScopes: "s"}}, // the bearer token in clear
		{APIScopes, "", map[string]string{APIEndpoint: "https://api.example.com/"}},
		{TableEndpoint, "http://acct.table.core.windows.net/", nil},
		{TableEndpoint, "", nil},
		{TableConnection, "UseDevelopmentStorage=true", nil}, // both set
		{TableName, "1sessions", nil},
		{TableName, "se", nil},
		{IdleTimeout, "forever", nil},
		{IdleTimeout, "24h", nil}, // longer than the absolute timeout
		{AbsoluteTimeout, "-1h", nil},
		{LogLevel, "verbose", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			env := valid()
			env[tt.name] = tt.value
			for k, v := range tt.extra {
				env[k] = v
			}
			_, err := Load(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("err = %v, want one naming %s", err, tt.name)
			}
		})
	}
}

func TestLocalhostMayUseHTTP(t *testing.T) {
	env := valid()
	env[PublicBaseURL] = "http://localhost:7071"
	if _, err := Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
}
