// Package emutest starts the B2C emulator as the tests of the app's
// packages use it: the sample tenant (testenv's client, user flows and API),
// with Alice and Bob. It is apart from testenv because the emulator's own
// tests use testenv.
package emutest

import (
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// Config is the sample tenant, its client registered with secret and
// redirectURIs; a test changes what it needs before Start.
func Config(secret string, redirectURIs ...string) emulator.Config {
	return emulator.Config{
		Tenant: "contoso",
		Policies: []emulator.Policy{
			{Name: testenv.SignUpSignIn},
			{Name: testenv.ProfileEdit, Kind: emulator.ProfileEdit},
			{Name: testenv.PasswordReset, Kind: emulator.PasswordReset},
		},
		Clients: []emulator.Client{{ID: testenv.ClientID, Secret: secret, RedirectURIs: redirectURIs}},
		Users:   []emulator.User{emulator.Alice, emulator.Bob},
		APIs:    []emulator.API{{AppIDURI: testenv.APIURI, ClientID: testenv.APIClientID, Scopes: []string{"tasks.read"}}},
	}
}

// Start starts an emulator with cfg, closed when the test ends.
func Start(t testing.TB, cfg emulator.Config) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// Settings are the app settings that point an app served at base, whose
// client secret is secret, at emu's sample tenant and its API.
func Settings(t testing.TB, emu *emulator.Server, secret, base string) map[string]string {
	t.Helper()
	return map[string]string{
		"B2C_TENANT_NAME":           "contoso",
		"B2C_TENANT_HOST":           emu.TLSHost(),
		"B2C_SIGNUP_SIGNIN_POLICY":  testenv.SignUpSignIn,
		"B2C_PROFILE_EDIT_POLICY":   testenv.ProfileEdit,
		"B2C_PASSWORD_RESET_POLICY": testenv.PasswordReset,
		"B2C_CLIENT_ID":             testenv.ClientID,
		"B2C_CLIENT_SECRET":         secret,
		"B2C_CA_FILE":               testenv.CAFile(t, emu.CACertPEM()),
		"PUBLIC_BASE_URL":           base,
		"API_ENDPOINT":              emu.APIURL(),
		"API_SCOPES":                testenv.APIScope,
	}
}
