// Package infra_test checks the Bicep templates under infra/ with
// infra/check (parsed with tree-sitter-bicep, not compiled: see
// infra/check/parse.mjs): they parse, keep the policy, and set exactly the
// app settings that the handler, the host and function.json read
// (consistency_test.go).
package infra_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
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

// TestAppSettingsMatchHandlerAndHost: Bicep sets every app setting the
// handler, the host and function.json require, and none that nobody reads.
func TestAppSettingsMatchHandlerAndHost(t *testing.T) {
	settings, errs := infra(t).AppSettings()
	for _, err := range errs {
		t.Error(err)
	}
	var names []string
	values := map[string]*check.Node{}
	for _, s := range settings {
		names = append(names, s.Name)
		values[s.Name] = s.Value
	}
	if len(names) == 0 {
		t.Fatal("no app settings found in infra/ (a Microsoft.Web/sites/config 'appsettings' resource or siteConfig.appSettings)")
	}
	root, err := check.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	refs, err := functionJSONRefs(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Bicep sets %d app settings; function.json references: %v", len(names), refs)
	for _, p := range consistencyProblems(names, config.Settings, hostSettings, refs) {
		t.Error(p)
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
	host := []hostSetting{{"HOST_READS", "test"}}
	complete := []string{"NEEDED", auth.EnvTableEndpoint, auth.EnvManagedIdentityID, "HOST_READS", "SCHEDULE"}
	refs := map[string]string{"SCHEDULE": "functions/sweep/function.json"}
	if p := consistencyProblems(complete, handler, host, refs); len(p) != 0 {
		t.Fatalf("a complete set has problems: %v", p)
	}
	if p := consistencyProblems(append(slices.Clone(complete), "OPTIONAL"), handler, host, refs); len(p) != 0 {
		t.Fatalf("setting an optional handler setting is fine: %v", p)
	}
	cases := []struct {
		name     string
		settings []string
		refs     map[string]string
		want     string
	}{
		{"handler-required missing", without(complete, "NEEDED"), refs, "the handler requires NEEDED"},
		{"required in Azure missing", without(complete, auth.EnvTableEndpoint), refs, "the handler requires " + auth.EnvTableEndpoint},
		{"host setting missing", without(complete, "HOST_READS"), refs, "the Functions host reads HOST_READS"},
		{"function.json reference missing", complete, map[string]string{"SCHEDULE": "f", "OTHER": "functions/x/function.json"}, "references %OTHER%"},
		{"nobody reads it", append(slices.Clone(complete), "STRAY"), refs, "Bicep sets STRAY, which neither"},
		{"local-only set", append(slices.Clone(complete), "LOCAL"), refs, "local-only"},
		{"port set", append(slices.Clone(complete), config.Port), refs, "Bicep sets " + config.Port},
		{"set twice", append(slices.Clone(complete), "NEEDED"), refs, "Bicep sets NEEDED 2 times"},
	}
	for _, c := range cases {
		problems := consistencyProblems(c.settings, handler, host, c.refs)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("%s: want a problem containing %q, got %v", c.name, c.want, problems)
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
