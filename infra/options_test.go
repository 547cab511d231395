package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
)

// The deployment options each parameter file decides for its environment,
// rather than inheriting main.bicep's default without a word.
var environmentOptions = []string{
	"vnetEnabled", "zoneRedundant", "lockResources", "alertEmail",
	"storageSku", "alwaysReadyInstances", "instanceMemoryMB", "maximumInstanceCount",
	"enablePurgeProtection", "softDeleteRetentionInDays", "logRetentionInDays",
}

func assignments(t *testing.T, file string) map[string]*check.Node {
	t.Helper()
	a, ok := infra(t).Assignments(file)
	if !ok {
		t.Fatalf("%s is missing", file)
	}
	return a
}

// TestParameterFilesDecideEnvironmentOptions: dev and prod each set every
// environment option, and prod sets the production ones: zone redundancy on
// zone-redundant storage with two always-ready instances, locks, purge
// protection, and an alert address it cannot deploy without.
func TestParameterFilesDecideEnvironmentOptions(t *testing.T) {
	for _, file := range []string{"infra/dev.bicepparam", "infra/prod.bicepparam"} {
		a := assignments(t, file)
		for _, name := range environmentOptions {
			if a[name] == nil {
				t.Errorf("%s does not set %s", file, name)
			}
		}
	}
	prod := assignments(t, "infra/prod.bicepparam")
	want := map[string]string{
		"zoneRedundant":         "true",
		"lockResources":         "true",
		"storageSku":            "'Standard_ZRS'",
		"alwaysReadyInstances":  "2",
		"enablePurgeProtection": "true",
		// No default: a production deployment without ALERT_EMAIL stops.
		"alertEmail": "readEnvironmentVariable('ALERT_EMAIL')",
	}
	for name, value := range want {
		if v := prod[name]; v == nil || v.Text != value {
			t.Errorf("infra/prod.bicepparam: %s = %s, want %s", name, textOrMissing(v), value)
		}
	}
	// The private network is opt-in everywhere.
	for _, file := range []string{"infra/dev.bicepparam", "infra/prod.bicepparam"} {
		if v := assignments(t, file)["vnetEnabled"]; v == nil || v.Text != "readEnvironmentVariable('VNET_ENABLED', 'false') == 'true'" {
			t.Errorf("%s: vnetEnabled = %s, want readEnvironmentVariable('VNET_ENABLED', 'false') == 'true'", file, textOrMissing(v))
		}
	}
}

func textOrMissing(n *check.Node) string {
	if n == nil {
		return "(missing)"
	}
	return n.Text
}

// TestEnvironmentOptionsReachTheirModules: main.bicep hands each option to
// the modules it concerns, so that turning it on in a parameter file
// changes what is deployed.
func TestEnvironmentOptionsReachTheirModules(t *testing.T) {
	set := infra(t)
	wants := []struct{ module, param, value string }{
		{"storage", "vnetEnabled", "vnetEnabled"},
		{"keyVault", "vnetEnabled", "vnetEnabled"},
		{"functionApp", "subnetId", "vnetEnabled ? network!.outputs.appSubnetId : ''"},
		{"storage", "lock", "lockResources"},
		{"keyVault", "lock", "lockResources"},
		{"functionApp", "zoneRedundant", "zoneRedundant"},
		{"functionApp", "alwaysReadyInstances", "alwaysReadyChecked"},
		{"storage", "skuName", "storageSkuChecked"},
		{"storage", "workspaceId", "monitoring.outputs.workspaceId"},
		{"keyVault", "workspaceId", "monitoring.outputs.workspaceId"},
		{"keyVault", "actionGroupId", "monitoring.outputs.actionGroupId"},
		{"alerts", "actionGroupId", "monitoring.outputs.actionGroupId"},
		{"monitoring", "alertEmail", "alertEmail"},
	}
	for _, w := range wants {
		params, _, ok := set.ModuleParams("infra/main.bicep", w.module)
		if !ok {
			t.Errorf("infra/main.bicep has no module %s", w.module)
			continue
		}
		if v := params[w.param]; v == nil || v.Text != w.value {
			t.Errorf("module %s: %s: %s, want %s", w.module, w.param, textOrMissing(v), w.value)
		}
	}
	if _, cond, ok := set.ModuleParams("infra/main.bicep", "network"); !ok || cond == nil || cond.Text != "(vnetEnabled)" {
		t.Errorf("module network must be deployed if (vnetEnabled) only, got %s", textOrMissing(cond))
	}
}

var envReadRE = regexp.MustCompile(`readEnvironmentVariable\('([A-Z0-9_]+)'`)

// TestParameterFileVariablesInDeployDoc: every environment variable a
// parameter file reads is named in "Deploy to Azure" (docs/deploy.md),
// where a deployer learns what to export.
func TestParameterFileVariablesInDeployDoc(t *testing.T) {
	root := moduleRoot(t)
	doc := readRepoFile(t, "docs", "deploy.md")
	section := string(doc)
	if !strings.HasPrefix(section, "# Deploy to Azure\n") {
		t.Fatal(`docs/deploy.md does not start with "# Deploy to Azure"`)
	}
	var names []string
	for _, file := range []string{"dev.bicepparam", "prod.bicepparam"} {
		src, err := os.ReadFile(filepath.Join(root, "infra", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envReadRE.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("the parameter files read no environment variable")
	}
	for _, name := range names {
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(section) {
			t.Errorf(`docs/deploy.md does not name %s, which a parameter file reads`, name)
		}
	}
}

// The tenant's parameters of main.bicep: each parameter file reads it from
// the environment variable of the app setting it becomes, and main.bicep
// hands it to the app module as the value given (checked or defaulted there
// first where the kind of tenant decides).
var tenantParams = []struct{ param, env, moduleParam, value string }{
	{"identityProvider", auth.EnvIdentityProvider, "identityProvider", "identityProvider"},
	{"b2cTenantName", auth.EnvTenantName, "b2cTenantName", "b2cTenantName"},
	{"b2cTenantHost", auth.EnvTenantHost, "b2cTenantHost", "tenantHost"},
	{"tenantId", auth.EnvTenantID, "tenantId", "tenantIdChecked"},
	{"b2cSignUpSignInPolicy", auth.EnvSignUpSignInPolicy, "b2cSignUpSignInPolicy", "b2cPolicies.signUpSignIn"},
	{"b2cProfileEditPolicy", auth.EnvProfileEditPolicy, "b2cProfileEditPolicy", "b2cPolicies.profileEdit"},
	{"b2cPasswordResetPolicy", auth.EnvPasswordResetPolicy, "b2cPasswordResetPolicy", "b2cPolicies.passwordReset"},
	{"b2cPolicyClaim", auth.EnvPolicyClaim, "b2cPolicyClaim", "b2cPolicyClaim"},
	{"b2cClientId", auth.EnvClientID, "b2cClientId", "b2cClientId"},
	{"postLogoutRedirectUri", auth.EnvPostLogoutURL, "postLogoutRedirectUri", "postLogoutRedirectUri"},
}

// TestTenantParametersFromTheEnvironment: both parameter files read every
// tenant parameter from its environment variable, so that one exported set
// of variables deploys either kind of tenant and nothing of a tenant is
// committed; main.bicep hands each to the app module; and the two URIs to
// register are outputs.
func TestTenantParametersFromTheEnvironment(t *testing.T) {
	set := infra(t)
	params, _, ok := set.ModuleParams("infra/main.bicep", "functionApp")
	if !ok {
		t.Fatal("infra/main.bicep has no module functionApp")
	}
	for _, file := range []string{"infra/dev.bicepparam", "infra/prod.bicepparam"} {
		a := assignments(t, file)
		for _, p := range tenantParams {
			if v := a[p.param]; v == nil || !strings.HasPrefix(v.Text, "readEnvironmentVariable('"+p.env+"'") {
				t.Errorf("%s: %s = %s, want readEnvironmentVariable('%s'...)", file, p.param, textOrMissing(v), p.env)
			}
		}
	}
	for _, p := range tenantParams {
		if v := params[p.moduleParam]; v == nil || v.Text != p.value {
			t.Errorf("module functionApp: %s: %s, want %s", p.moduleParam, textOrMissing(v), p.value)
		}
	}
	outputs, _ := set.Outputs("infra/main.bicep")
	for name, value := range map[string]string{
		"redirectUri":           "'${functionApp.outputs.publicBaseUrl}/getAToken'",
		"postLogoutRedirectUri": "functionApp.outputs.postLogoutRedirectUri",
	} {
		if v := outputs[name]; v == nil || v.Text != value {
			t.Errorf("infra/main.bicep: output %s = %s, want %s", name, textOrMissing(v), value)
		}
	}
}
