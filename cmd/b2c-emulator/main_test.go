package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	env := map[string]string{"B2C_TENANT_NAME": "fabrikam"}
	var out testenv.Log
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"b2c-emulator", "-tls-addr", "127.0.0.1:0", "-browser-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-ca-out", caFile},
			func(k string) string { return env[k] }, &out)
	}()

	settings := waitForSettings(t, &out, done)
	if settings["B2C_TENANT_NAME"] != "fabrikam" || settings["B2C_CA_FILE"] != caFile || settings["B2C_CLIENT_ID"] != defaultClientID ||
		settings["API_SCOPES"] != "https://fabrikam.onmicrosoft.com/tasks-api/tasks.read" || !strings.HasPrefix(settings["B2C_TENANT_HOST"], "localhost:") {
		t.Errorf("settings = %v", settings)
	}

	// The printed settings are enough to reach the emulator.
	pem, err := os.ReadFile(settings["B2C_CA_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + settings["B2C_TENANT_HOST"] + "/fabrikam.onmicrosoft.com/b2c_1_susi_embedded_reset/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery status = %d", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

// waitForSettings waits for run to print the handler settings and returns them.
func waitForSettings(t *testing.T, out *testenv.Log, done <-chan error) map[string]string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "API_SCOPES=") {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("no settings printed:\n%s", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	settings := make(map[string]string)
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == strings.ToUpper(k) && !strings.Contains(k, " ") {
			settings[k] = v
		}
	}
	return settings
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"bad duration", []string{"-access-token-lifetime", "soon"}},
		{"bad address", []string{"-tls-addr", "nowhere", "-ca-out", filepath.Join(t.TempDir(), "ca.pem")}},
		{"unwritable CA file", []string{"-tls-addr", "127.0.0.1:0", "-browser-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-ca-out", filepath.Join(t.TempDir(), "missing", "ca.pem")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testenv.Log
			err := run(t.Context(), append([]string{"b2c-emulator"}, tt.args...), func(string) string { return "" }, &out)
			if err == nil {
				t.Error("run succeeded")
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out testenv.Log
	if err := run(t.Context(), []string{"b2c-emulator", "-h"}, func(string) string { return "" }, &out); err != nil {
		t.Errorf("run -h = %v", err)
	}
	if !strings.Contains(out.String(), "-access-token-lifetime") {
		t.Errorf("usage:\n%s", out.String())
	}
}

func TestRunTenantSettings(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var out testenv.Log
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"b2c-emulator", "-tls-addr", "127.0.0.1:0", "-browser-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-ca-out", caFile,
			"-strict-logout", "-custom-domain", "127.0.0.1", "-custom-domain-addr", "127.0.0.1:0", "-issuer-form", "tfp"},
			func(string) string { return "" }, &out)
	}()
	waitForSettings(t, &out, done)
	printed := out.String()

	var customHost string
	for _, line := range strings.Split(printed, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "B2C_TENANT_HOST" {
			customHost = f[1]
		}
	}
	if !strings.HasPrefix(customHost, "127.0.0.1:") || !strings.Contains(printed, "  custom     https://"+customHost+"/"+tenantID+"/B2C_1_signupsignin1\n") {
		t.Fatalf("no custom domain settings printed:\n%s", printed)
	}
	if !strings.Contains(printed, "/tfp/"+tenantID+"/b2c_1_signupsignin1/v2.0/") {
		t.Errorf("printed issuer is not of the tfp form:\n%s", printed)
	}

	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + customHost + "/" + tenantID + "/b2c_1_signupsignin1/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery through the custom domain: %d %v", resp.StatusCode, err)
	}
	if want := "https://" + customHost + "/tfp/" + tenantID + "/b2c_1_signupsignin1/v2.0/"; d.Issuer != want {
		t.Errorf("issuer = %q, want %q", d.Issuer, want)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

func TestRunBadIssuerForm(t *testing.T) {
	var out testenv.Log
	err := run(t.Context(), []string{"b2c-emulator", "-issuer-form", "TFP"}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "-issuer-form") {
		t.Errorf("run = %v, want an -issuer-form error", err)
	}
}

func TestRunHelpTenantSettings(t *testing.T) {
	var out testenv.Log
	if err := run(t.Context(), []string{"b2c-emulator", "-h"}, func(string) string { return "" }, &out); err != nil {
		t.Errorf("run -h = %v", err)
	}
	for _, flag := range []string{"-strict-logout", "-custom-domain", "-custom-domain-addr", "-issuer-form"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("usage lacks %s:\n%s", flag, out.String())
		}
	}
}
