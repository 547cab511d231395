package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != "8080" || c.LogLevel != slog.LevelInfo || c.APIEndpoint != "" || c.RequestTimeout != DefaultRequestTimeout {
		t.Fatalf("defaults: %+v", c)
	}
}

// Every bad value stops start-up with an error naming its variable.
func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, value string
		extra       map[string]string
	}{
		{APIEndpoint, "ftp://api", map[string]string{auth.EnvAPIScopes: "s"}},
		{APIEndpoint, "http://api.example.com/", map[string]string{auth.EnvAPIScopes: "s"}}, // the bearer token in clear
		{auth.EnvAPIScopes, "", map[string]string{APIEndpoint: "https://api.example.com/"}},
		{LogLevel, "verbose", nil},
		{RequestTimeout, "20", nil},
		{RequestTimeout, "-1s", nil},
		{RequestTimeout, "5m", nil}, // past the host's 230 s
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			env := map[string]string{tt.name: tt.value}
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

func TestLoadRequestTimeout(t *testing.T) {
	c, err := Load(func(k string) string { return map[string]string{RequestTimeout: "20s"}[k] })
	if err != nil || c.RequestTimeout != 20*time.Second {
		t.Fatalf("REQUEST_TIMEOUT=20s: %v, %v", c, err)
	}
}

func TestLocalAPIMayUseHTTP(t *testing.T) {
	env := map[string]string{APIEndpoint: "http://127.0.0.1:9090/", auth.EnvAPIScopes: "s"}
	if _, err := Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
}

// Settings holds every variable once: auth's and the handler's own.
func TestSettingsListed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if seen[s.Name] || s.Description == "" {
			t.Errorf("setting %q repeated or undescribed", s.Name)
		}
		seen[s.Name] = true
	}
	if len(Settings) != len(auth.EnvSettings)+len(own) {
		t.Fatalf("%d settings, want %d", len(Settings), len(auth.EnvSettings)+len(own))
	}
}
