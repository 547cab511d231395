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

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

func TestRunExternalID(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	env := map[string]string{"B2C_TENANT_NAME": "fabrikam"}
	var out testenv.Log
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"b2c-emulator", "-external-id", "-tls-addr", "127.0.0.1:0", "-browser-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-ca-out", caFile},
			func(k string) string { return env[k] }, &out)
	}()
	settings := waitForSettings(t, &out, done)
	host := settings["B2C_TENANT_HOST"]
	want := map[string]string{
		"IDENTITY_PROVIDER": "external-id",
		"B2C_TENANT_NAME":   "fabrikam",
		"B2C_TENANT_ID":     tenantID,
		"B2C_CA_FILE":       caFile,
		"B2C_CLIENT_ID":     defaultClientID,
		"B2C_CLIENT_SECRET": defaultClientSecret,
		"API_SCOPES":        "api://" + apiClientID + "/tasks.read",
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s = %q, want %q", k, settings[k], v)
		}
	}
	if !strings.HasPrefix(host, "localhost:") || settings["API_ENDPOINT"] == "" {
		t.Errorf("settings = %v", settings)
	}
	if _, ok := settings["B2C_SIGNUP_SIGNIN_POLICY"]; ok {
		t.Error("B2C_SIGNUP_SIGNIN_POLICY is printed in External ID mode")
	}

	// The printed settings are enough to reach the tenant, by its name and by
	// its ID, and its issuer is on the tenant-ID host of the same listener.
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tenant := range []string{"fabrikam.onmicrosoft.com", settings["B2C_TENANT_ID"]} {
		resp, err := client.Get("https://" + host + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
		}
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery of %s: %d %v", tenant, resp.StatusCode, err)
		}
		if want := "https://" + tenantID + ".ciamlogin.com/" + tenantID + "/v2.0"; d.Issuer != want {
			t.Errorf("issuer = %q, want %q", d.Issuer, want)
		}
		if want := "https://" + host + "/" + tenant + "/oauth2/v2.0/token"; d.TokenEndpoint != want {
			t.Errorf("token_endpoint = %q, want %q", d.TokenEndpoint, want)
		}
	}
	if !strings.Contains(out.String(), "  redirects  http://localhost:7071/getAToken http://localhost:7071/\n") {
		t.Errorf("the post-logout URI is not registered:\n%s", out.String())
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

func TestRunExternalIDRefusesB2CFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-strict-logout"},
		{"-custom-domain", "127.0.0.1"},
		{"-issuer-form", "tfp"},
	} {
		t.Run(args[0], func(t *testing.T) {
			var out testenv.Log
			err := run(t.Context(), append([]string{"b2c-emulator", "-external-id", "-ca-out", filepath.Join(t.TempDir(), "ca.pem")}, args...), func(string) string { return "" }, &out)
			if err == nil || !strings.Contains(err.Error(), args[0]) || !strings.Contains(err.Error(), "-external-id") {
				t.Errorf("run = %v, want an error naming %s and -external-id", err, args[0])
			}
		})
	}
}

func TestRunHelpExternalID(t *testing.T) {
	var out testenv.Log
	if err := run(t.Context(), []string{"b2c-emulator", "-h"}, func(string) string { return "" }, &out); err != nil {
		t.Errorf("run -h = %v", err)
	}
	if !strings.Contains(out.String(), "-external-id") {
		t.Errorf("usage lacks -external-id:\n%s", out.String())
	}
}
