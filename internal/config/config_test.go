package config

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// apiScopes is the sign-in setting holding the API's scopes
// (auth.EnvAPIScopes).
const apiScopes = "API_SCOPES"

// load runs Load on the settings in env.
func load(env map[string]string) (*Config, error) {
	return Load(func(k string) string { return env[k] }, apiScopes)
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(nil)
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
		{APIEndpoint, "ftp://api", map[string]string{apiScopes: "s"}},
		{APIEndpoint, "http://api.example.com/", map[string]string{apiScopes: "s"}}, // the bearer token in clear
		{apiScopes, "", map[string]string{APIEndpoint: "https://api.example.com/"}},
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
			_, err := load(env)
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("err = %v, want one naming %s", err, tt.name)
			}
		})
	}
}

func TestLoadRequestTimeout(t *testing.T) {
	c, err := load(map[string]string{RequestTimeout: "20s"})
	if err != nil || c.RequestTimeout != 20*time.Second {
		t.Fatalf("REQUEST_TIMEOUT=20s: %v, %v", c, err)
	}
}

func TestLocalAPIMayUseHTTP(t *testing.T) {
	env := map[string]string{APIEndpoint: "http://127.0.0.1:9090/", apiScopes: "s"}
	if _, err := load(env); err != nil {
		t.Fatal(err)
	}
}

// Settings holds each of the handler's own variables once, described.
func TestSettingsListed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if seen[s.Name] || s.Description == "" {
			t.Errorf("setting %q repeated or undescribed", s.Name)
		}
		seen[s.Name] = true
	}
}

// The handler's configuration and the sign-in library stand apart: neither
// package depends on the other, so auth serves programs of their own.
func TestIndependentOfAuth(t *testing.T) {
	const module = "github.com/b2c-functions-go/b2c-functions-go/"
	for pkg, other := range map[string]string{module + "internal/config": module + "auth", module + "auth": module + "internal/config"} {
		out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for dep := range strings.Lines(string(out)) {
			if strings.TrimSpace(dep) == other {
				t.Errorf("%s depends on %s", pkg, other)
			}
		}
	}
}
