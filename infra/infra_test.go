// Package infra_test checks the Bicep templates under infra/ with
// infra/check (parsed with tree-sitter-bicep, not compiled: see
// infra/check/parse.mjs): they parse, keep the policy, and set exactly the
// app settings that the handler, the host and function.json read
// (consistency_test.go).
package infra_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
	"github.com/b2c-functions-go/b2c-functions-go/internal/appsettings"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// infraSet is every template under infra/, parsed once per test binary;
// each test that asks gets the same answer, error included.
var infraSet = sync.OnceValues(func() (*check.Set, error) {
	root, err := check.ModuleRoot()
	if err != nil {
		return nil, err
	}
	files, err := check.TemplateFiles(filepath.Join(root, "infra"))
	if err != nil {
		return nil, err
	}
	parsed, err := check.Parse(files...)
	if err != nil {
		return nil, err
	}
	var syntax []error
	for _, f := range parsed {
		if len(f.Errors) > 0 {
			syntax = append(syntax, errors.New(f.ErrorText()))
		}
	}
	if len(syntax) > 0 {
		return nil, errors.Join(append([]error{errors.New("syntax errors:")}, syntax...)...)
	}
	return check.NewSet(root, parsed), nil
})

func infra(t *testing.T) *check.Set {
	t.Helper()
	set, err := infraSet()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestBicepParses: every .bicep and .bicepparam file under infra/ is
// well-formed for tree-sitter-bicep. (Parsed, not compiled: see
// infra/check/parse.mjs.)
func TestBicepParses(t *testing.T) {
	names := infra(t).Names()
	for _, name := range names {
		t.Logf("parsed %s", name)
	}
	for _, want := range []string{"infra/main.bicep", "infra/dev.bicepparam", "infra/prod.bicepparam"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is missing", want)
		}
	}
}

// TestPolicy: the templates under infra/ break no rule of infra/check.
func TestPolicy(t *testing.T) {
	for _, v := range infra(t).Violations() {
		t.Error(v)
	}
}

// TestAppSettingsMatchHandlerAndHost: for each kind of tenant, Bicep sets
// every app setting the handler, the host and function.json require, none
// that the handler refuses for that kind, and none that nobody reads.
// Settings under a condition are evaluated with the module's
// identityProvider parameter at each value.
func TestAppSettingsMatchHandlerAndHost(t *testing.T) {
	settings, errs := infra(t).AppSettings()
	for _, err := range errs {
		t.Error(err)
	}
	if len(settings) == 0 {
		t.Fatal("no app settings found in infra/ (a Microsoft.Web/sites/config 'appsettings' resource or siteConfig.appSettings)")
	}
	root := moduleRoot(t)
	refs, err := functionJSONRefs(root)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]*check.Node{}
	for _, kind := range tenantKinds {
		var names []string
		for _, s := range settings {
			set, err := s.SetWhen("identityProvider", kind.Name)
			if err != nil {
				t.Errorf("%s: %v (a setting may depend on identityProvider only)", kind.Name, err)
			}
			if set {
				names = append(names, s.Name)
				values[s.Name] = s.Value
			}
		}
		t.Logf("%s: Bicep sets %d app settings; function.json references: %v", kind.Name, len(names), refs)
		for _, p := range consistencyProblems(kind, names, appsettings.All, hostSettings, refs) {
			t.Errorf("%s: %s", kind.Name, p)
		}
	}

	// Values that have exactly one right answer.
	if !check.IsString(values["AzureWebJobsDisableHomepage"], "true") {
		t.Error("AzureWebJobsDisableHomepage must be 'true'")
	}
	if !check.IsString(values["AzureWebJobsStorage__credential"], "managedidentity") {
		t.Error("AzureWebJobsStorage__credential must be 'managedidentity'")
	}
	if !check.IsKeyVaultReference(values[auth.EnvClientSecret]) {
		t.Errorf("%s must be a Key Vault reference", auth.EnvClientSecret)
	}
	if v := values[auth.EnvTableEndpoint]; v == nil || v.Text != "storageTableEndpoint" {
		t.Errorf("%s must be the storage account's table endpoint (https://{account}.table.core.windows.net/)", auth.EnvTableEndpoint)
	}
	if v := values[auth.EnvPublicBaseURL]; v == nil || !strings.Contains(v.Text, "defaultOrigin") {
		t.Errorf("%s must default to the site's own https origin", auth.EnvPublicBaseURL)
	}
	if v := values[auth.EnvIdentityProvider]; v == nil || v.Text != "identityProvider" {
		t.Errorf("%s must be the module's identityProvider parameter, got %s", auth.EnvIdentityProvider, textOrMissing(v))
	}
}

// TestConsistencyCatches proves the consistency check can fail.
func TestConsistencyCatches(t *testing.T) {
	handler := []config.Setting{
		{Name: "NEEDED", Required: true},
		{Name: "OPTIONAL"},
		{Name: "LOCAL", LocalOnly: true},
		{Name: config.Port},
		{Name: auth.EnvTableEndpoint},
		{Name: auth.EnvManagedIdentityID},
	}
	handler = append(handler, config.Setting{Name: auth.EnvIdentityProvider}, config.Setting{Name: "KIND_NEEDS"}, config.Setting{Name: "KIND_REFUSES", Required: true})
	host := []hostSetting{{"HOST_READS", "test"}}
	plain := tenantKind{Name: "plain"}
	other := tenantKind{Name: "other", Required: []string{"KIND_NEEDS"}, Refused: []string{"KIND_REFUSES"}}
	complete := []string{"NEEDED", auth.EnvTableEndpoint, auth.EnvManagedIdentityID, auth.EnvIdentityProvider, "HOST_READS", "SCHEDULE", "KIND_REFUSES"}
	completeOther := append(without(complete, "KIND_REFUSES"), "KIND_NEEDS")
	refs := map[string]string{"SCHEDULE": "functions/sweep/function.json"}
	if p := consistencyProblems(plain, complete, handler, host, refs); len(p) != 0 {
		t.Fatalf("a complete set has problems: %v", p)
	}
	if p := consistencyProblems(other, completeOther, handler, host, refs); len(p) != 0 {
		t.Fatalf("a complete set for the other kind has problems: %v", p)
	}
	if p := consistencyProblems(plain, append(slices.Clone(complete), "OPTIONAL"), handler, host, refs); len(p) != 0 {
		t.Fatalf("setting an optional handler setting is fine: %v", p)
	}
	cases := []struct {
		name     string
		kind     tenantKind
		settings []string
		refs     map[string]string
		want     string
	}{
		{"handler-required missing", plain, without(complete, "NEEDED"), refs, "the handler requires NEEDED"},
		{"required in Azure missing", plain, without(complete, auth.EnvTableEndpoint), refs, "the handler requires " + auth.EnvTableEndpoint},
		{"kind not stated", plain, without(complete, auth.EnvIdentityProvider), refs, "the handler requires " + auth.EnvIdentityProvider},
		{"required for the kind missing", other, without(completeOther, "KIND_NEEDS"), refs, "the handler requires KIND_NEEDS for other"},
		{"refused for the kind set", other, append(slices.Clone(completeOther), "KIND_REFUSES"), refs, "Bicep sets KIND_REFUSES for other, which the handler refuses"},
		{"required for one kind only", plain, without(complete, "KIND_REFUSES"), refs, "the handler requires KIND_REFUSES for plain"},
		{"host setting missing", plain, without(complete, "HOST_READS"), refs, "the Functions host reads HOST_READS"},
		{"function.json reference missing", plain, complete, map[string]string{"SCHEDULE": "f", "OTHER": "functions/x/function.json"}, "references %OTHER%"},
		{"nobody reads it", plain, append(slices.Clone(complete), "STRAY"), refs, "Bicep sets STRAY, which neither"},
		{"local-only set", plain, append(slices.Clone(complete), "LOCAL"), refs, "local-only"},
		{"port set", plain, append(slices.Clone(complete), config.Port), refs, "Bicep sets " + config.Port},
		{"set twice", plain, append(slices.Clone(complete), "NEEDED"), refs, "Bicep sets NEEDED 2 times"},
	}
	for _, c := range cases {
		problems := consistencyProblems(c.kind, c.settings, handler, host, c.refs)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("%s: want a problem containing %q, got %v", c.name, c.want, problems)
		}
	}
}

// TestTenantKindsMatchHandler holds tenantKinds to the handler: with the
// settings every deployment sets and each kind's required ones,
// auth.ConfigFromEnv accepts the configuration; without one of the kind's
// required settings, or with one it refuses, it fails naming that setting.
func TestTenantKindsMatchHandler(t *testing.T) {
	placeholder := map[string]string{
		auth.EnvTenantID:            "00000000-0000-0000-0000-000000000001",
		auth.EnvSignUpSignInPolicy:  "B2C_1_signupsignin1",
		auth.EnvProfileEditPolicy:   "B2C_1_profileediting1",
		auth.EnvPasswordResetPolicy: "B2C_1_passwordreset1",
	}
	// The policy's list of what external-id refuses is this table's.
	for _, kind := range tenantKinds {
		if kind.Name == "external-id" && !slices.Equal(kind.Refused, check.ExternalIDRefusedSettings()) {
			t.Errorf("external-id refuses %v here, but infra/check's externalIDRefusedSettings is %v", kind.Refused, check.ExternalIDRefusedSettings())
		}
	}
	for _, kind := range tenantKinds {
		env := map[string]string{
			auth.EnvIdentityProvider: kind.Name,
			auth.EnvTenantName:       "contoso",
			auth.EnvClientID:         "client",
			auth.EnvClientSecret:     "secret",
			auth.EnvPublicBaseURL:    "https://app.example.com",
			auth.EnvTableEndpoint:    "https://account.table.core.windows.net/",
		}
		for _, name := range kind.Required {
			if placeholder[name] == "" {
				t.Fatalf("no placeholder value for %s", name)
			}
			env[name] = placeholder[name]
		}
		load := func(env map[string]string) error {
			_, err := auth.ConfigFromEnv(func(name string) string { return env[name] })
			return err
		}
		if err := load(env); err != nil {
			t.Errorf("%s: with its required settings: %v", kind.Name, err)
		}
		for _, name := range kind.Required {
			drop := maps.Clone(env)
			delete(drop, name)
			if err := load(drop); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s without %s: want an error naming it, got %v", kind.Name, name, err)
			}
		}
		for _, name := range kind.Refused {
			if placeholder[name] == "" {
				t.Fatalf("no placeholder value for %s", name)
			}
			add := maps.Clone(env)
			add[name] = placeholder[name]
			if err := load(add); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s with %s: want an error naming it, got %v", kind.Name, name, err)
			}
		}
	}
}

func without(list []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == drop })
}

// TestFunctionJSONRefs: %NAME% references are found in
// functions/*/function.json, and none is fine.
func TestFunctionJSONRefs(t *testing.T) {
	root := t.TempDir()
	refs, err := functionJSONRefs(root)
	if err != nil || len(refs) != 0 {
		t.Fatalf("no functions: got %v, %v", refs, err)
	}
	dir := filepath.Join(root, "functions", "sweep")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fj := `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%SWEEP_SCHEDULE%"}]}`
	if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(fj), 0o644); err != nil {
		t.Fatal(err)
	}
	refs, err = functionJSONRefs(root)
	if err != nil {
		t.Fatal(err)
	}
	if refs["SWEEP_SCHEDULE"] != "functions/sweep/function.json" || len(refs) != 1 {
		t.Fatalf("got %v", refs)
	}
}

// moduleRoot is the repository's root, the folder of its go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := check.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// readRepoFile reads a file of the repository, named from its root.
func readRepoFile(t *testing.T, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{moduleRoot(t)}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
