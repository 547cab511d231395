package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv/emutest"
)

const secret = "doctor-test-secret"

// setup starts the emulator, registered as the set-up steps of docs/deploy.md say
// (the redirect URI and the post-logout URI, the API scope granted), and
// gives a table of its own in the shared Azurite; it returns the settings
// the handler would have. adjust changes the emulator's configuration
// before it starts.
func setup(t *testing.T, adjust func(cfg *emulator.Config, base string)) map[string]string {
	t.Helper()
	az := testenv.SharedAzurite(t)
	tableName, _ := az.NewTable(t)
	// The app is never started: the doctor checks its settings, not it.
	base := fmt.Sprintf("http://localhost:%d", testenv.FreePort(t))
	cfg := emutest.Config(secret, base+"/getAToken", base+"/")
	cfg.Clients[0].GrantedScopes = []string{testenv.APIScope}
	cfg.APIs[0].Scopes = append(cfg.APIs[0].Scopes, "tasks.write")
	cfg.StrictLogout = true
	if adjust != nil {
		adjust(&cfg, base)
	}
	env := emutest.Settings(t, emutest.Start(t, cfg), secret, base)
	env["SESSION_TABLE_CONNECTION_STRING"] = az.ConnectionString()
	env["SESSION_TABLE_NAME"] = tableName
	return env
}

// doctorRun runs the doctor as main does and returns its lines.
func doctorRun(t *testing.T, env map[string]string, args ...string) ([]string, error) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), append([]string{"doctor"}, args...), func(k string) string { return env[k] }, &out)
	if strings.Contains(out.String(), secret) {
		t.Errorf("the report holds the client secret:\n%s", out.String())
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n"), err
}

// marked returns the lines that start with mark.
func marked(lines []string, m mark) []string {
	var got []string
	for _, l := range lines {
		if strings.HasPrefix(l, string(m)+" ") {
			got = append(got, l)
		}
	}
	return got
}

// The names of every check the good configuration passes, in order.
var goodChecks = []string{
	"user flow " + testenv.SignUpSignIn, "user flow " + testenv.ProfileEdit, "user flow " + testenv.PasswordReset,
	"client secret", "redirect URI", "post-logout URI", "API scopes", "API endpoint", "session table",
}

func TestGoodConfigurationPassesEveryCheck(t *testing.T) {
	lines, err := doctorRun(t, setup(t, nil))
	if err != nil {
		t.Errorf("run: %v", err)
	}
	if len(lines) != len(goodChecks) || len(marked(lines, pass)) != len(goodChecks) {
		t.Fatalf("want %d ✓ lines, got:\n%s", len(goodChecks), strings.Join(lines, "\n"))
	}
	for i, name := range goodChecks {
		if !strings.HasPrefix(lines[i], "✓ "+name) {
			t.Errorf("line %d = %q, want the check %q", i, lines[i], name)
		}
	}
}

// Each misconfiguration gives exactly its own ✗ line, with the fix, and the
// run fails; no other check fails with it.
func TestEachMisconfigurationFailsItsCheck(t *testing.T) {
	tests := []struct {
		name     string
		emulator func(cfg *emulator.Config, base string)
		env      map[string]string
		want     []string // in the ✗ line
		skipped  int      // checks that could not run because of it
	}{
		{name: "wrong client secret", env: map[string]string{"B2C_CLIENT_SECRET": "not-the-secret"},
			want: []string{"✗ client secret:", "AADB2C90081", "Fix: ", "az ad app credential reset"}},
		{name: "unknown profile-editing user flow", env: map[string]string{"B2C_PROFILE_EDIT_POLICY": "B2C_1_nosuchflow"},
			want: []string{"✗ user flow B2C_1_nosuchflow:", "404", "B2C_PROFILE_EDIT_POLICY"}},
		{name: "unknown sign-up/sign-in user flow", env: map[string]string{"B2C_SIGNUP_SIGNIN_POLICY": "B2C_1_nosuchflow"},
			want: []string{"✗ user flow B2C_1_nosuchflow:", "404", "B2C_SIGNUP_SIGNIN_POLICY"}, skipped: 4},
		{name: "unregistered redirect URI",
			emulator: func(cfg *emulator.Config, base string) { cfg.Clients[0].RedirectURIs = []string{base + "/"} },
			want:     []string{"✗ redirect URI http://localhost:", "/getAToken:", "AADB2C90006", "az ad app update --id " + testenv.ClientID + " --web-redirect-uris"}},
		{name: "unregistered post-logout URI",
			emulator: func(cfg *emulator.Config, base string) { cfg.Clients[0].RedirectURIs = []string{base + "/getAToken"} },
			want:     []string{"✗ post-logout URI http://localhost:", "AADB2C90006", "--web-redirect-uris"}},
		{name: "unregistered post-logout URI of its own", env: map[string]string{"POST_LOGOUT_REDIRECT_URI": "http://localhost:1/signed-out"},
			want: []string{"✗ post-logout URI http://localhost:1/signed-out:", "AADB2C90006", "POST_LOGOUT_REDIRECT_URI"}},
		{name: "unknown scope", env: map[string]string{"API_SCOPES": testenv.APIURI + "/tasks.delete"},
			want: []string{"✗ API scopes:", "AADB2C90117", "API_SCOPES"}},
		{name: "scope not granted", env: map[string]string{"API_SCOPES": testenv.APIURI + "/tasks.write"},
			want: []string{"✗ API scopes:", "AADB2C90205", "admin-consent"}},
		{name: "table missing", env: map[string]string{"SESSION_TABLE_NAME": "nosuchtable"},
			want: []string{"✗ session table nosuchtable:", "TableNotFound"}},
		{name: "unresolved Key Vault reference",
			env:  map[string]string{"B2C_CLIENT_SECRET": "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/b2c-client-secret/)"},
			want: []string{"✗ client secret:", "unresolved Key Vault reference", "Key Vault Secrets User"}},
		{name: "API endpoint down", env: map[string]string{"API_ENDPOINT": "http://127.0.0.1:" + closedPort(t) + "/"},
			want: []string{"✗ API endpoint:", "unreachable", "API_ENDPOINT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := setup(t, tt.emulator)
			for k, v := range tt.env {
				env[k] = v
			}
			lines, err := doctorRun(t, env)
			if !errors.Is(err, errFailed) {
				t.Errorf("run: %v, want errFailed (exit status 1)", err)
			}
			bad := marked(lines, fail)
			if len(bad) != 1 {
				t.Fatalf("want exactly one ✗ line, got:\n%s", strings.Join(lines, "\n"))
			}
			for _, w := range tt.want {
				if !strings.Contains(bad[0], w) {
					t.Errorf("the ✗ line lacks %q:\n%s", w, bad[0])
				}
			}
			if got := len(marked(lines, skip)); got != tt.skipped {
				t.Errorf("%d checks not run, want %d:\n%s", got, tt.skipped, strings.Join(lines, "\n"))
			}
			if got := len(lines) - 1 - tt.skipped; len(marked(lines, pass)) != got {
				t.Errorf("want every other check ✓, got:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// A setting ConfigFromEnv refuses is a ✗ line naming it, not a crash.
func TestMissingSettingIsALine(t *testing.T) {
	env := setup(t, nil)
	delete(env, "B2C_CLIENT_ID")
	lines, err := doctorRun(t, env)
	if !errors.Is(err, errFailed) || len(lines) != 1 || !strings.HasPrefix(lines[0], "✗ settings:") || !strings.Contains(lines[0], "B2C_CLIENT_ID") {
		t.Fatalf("run: %v\n%s", err, strings.Join(lines, "\n"))
	}
}

// -skip leaves a check out, and the rest still decide the exit status.
func TestSkip(t *testing.T) {
	env := setup(t, nil)
	env["SESSION_TABLE_NAME"] = "nosuchtable"
	lines, err := doctorRun(t, env, "-skip", "table")
	if err != nil || len(marked(lines, fail)) != 0 || len(marked(lines, skip)) != 1 {
		t.Fatalf("run: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if _, err := doctorRun(t, env, "-skip", "nosuchcheck"); err == nil || errors.Is(err, errFailed) {
		t.Errorf("an unknown check name: %v, want a usage error", err)
	}
}

// The binary exits 1 on a failed check and 0 when all pass.
func TestExitStatus(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "doctor")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := setup(t, nil)
	status := func(env map[string]string) int {
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return 0
	}
	if got := status(env); got != 0 {
		t.Errorf("good configuration: exit status %d, want 0", got)
	}
	env["B2C_CLIENT_SECRET"] = "not-the-secret"
	if got := status(env); got != 1 {
		t.Errorf("wrong secret: exit status %d, want 1", got)
	}
}

// External ID's discovery documents name an issuer on the tenant-ID host,
// the form MSAL.NET's CIAM issuer rule accepts; any other host is refused.
func TestIssuerForms(t *testing.T) {
	const tid = "5d1e0000-0000-4000-8000-00000000e1d0"
	tests := []struct {
		issuer, host string
		extID, want  bool
	}{
		{"https://contoso.b2clogin.com/" + tid + "/v2.0/", "contoso.b2clogin.com", false, true},
		{"https://contoso.b2clogin.com/tfp/" + tid + "/b2c_1_susi/v2.0/", "contoso.b2clogin.com", false, true},
		{"https://login.contoso.com/" + tid + "/v2.0/", "login.contoso.com", false, true},
		{"https://contoso.b2clogin.com/" + tid + "/v2.0/", "login.contoso.com", false, false},
		{"http://contoso.b2clogin.com/" + tid + "/v2.0/", "contoso.b2clogin.com", false, false},
		{"https://" + tid + ".ciamlogin.com/" + tid + "/v2.0", "contoso.ciamlogin.com", true, true},
		{"https://" + tid + ".ciamlogin.com/" + tid + "/v2.0/", "contoso.ciamlogin.com", true, true},
		{"https://contoso.ciamlogin.com/" + tid + "/v2.0", "contoso.ciamlogin.com", true, true},
		{"https://" + tid + ".ciamlogin.com/" + tid + "/v2.0", "contoso.ciamlogin.com", false, false},
		{"https://00000000-0000-4000-8000-000000000bad.ciamlogin.com/00000000-0000-4000-8000-000000000bad/v2.0", "contoso.ciamlogin.com", true, false},
		{"https://elsewhere.example/" + tid + "/v2.0", "contoso.ciamlogin.com", true, true}, // the tenant in the path is what counts
		{"https://" + tid + ".ciamlogin.com/v2.0", "contoso.ciamlogin.com", true, false},
	}
	for _, tt := range tests {
		if got := issuerAccepted(tt.issuer, tt.host, tid, tt.extID); got != tt.want {
			t.Errorf("issuerAccepted(%q, %q, external ID %v) = %v, want %v", tt.issuer, tt.host, tt.extID, got, tt.want)
		}
	}
}
