package infra_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// TestBicepParses: every .bicep and .bicepparam file under infra/ is
// well-formed for tree-sitter-bicep. (Parsed, not compiled: see
// infra/check/parse.mjs.)
func TestBicepParses(t *testing.T) {
	set := infraSet(t)
	for _, path := range set.Order {
		t.Logf("parsed %s", set.Files[path].Name)
	}
	for _, want := range []string{"infra/main.bicep", "infra/dev.bicepparam", "infra/prod.bicepparam"} {
		if set.Files[filepath.Join(repoRoot(t), filepath.FromSlash(want))] == nil {
			t.Errorf("%s is missing", want)
		}
	}
}

// TestParserRejectsBrokenBicep proves the parse check can fail.
func TestParserRejectsBrokenBicep(t *testing.T) {
	cases := []struct {
		name, file, src string
		broken          bool
	}{
		{"valid resource", "ok.bicep", "param location string = resourceGroup().location\nresource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id'\n  location: location\n}\n", false},
		{"valid param file", "ok.bicepparam", "using 'main.bicep'\n\nparam environmentName = 'dev'\nparam secret = readEnvironmentVariable('SECRET', '')\n", false},
		{"unclosed object", "unclosed.bicep", "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id'\n", true},
		{"missing colon", "colon.bicep", "var x = {\n  name 'id'\n}\n", true},
		{"param without type", "untyped.bicep", "param location = 'westeurope'\n", true},
		{"unterminated string", "string.bicep", "var x = 'abc\n", true},
		{"stray token", "stray.bicep", "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id'\n} }\n", true},
		{"declaration in a param file", "typed.bicepparam", "using 'main.bicep'\nparam environmentName string = 'dev'\n", true},
	}
	dir := t.TempDir()
	var files []string
	for _, c := range cases {
		f := filepath.Join(dir, c.file)
		if err := os.WriteFile(f, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	parsed := parseFiles(t, files...)
	for i, c := range cases {
		got := len(parsed[i].Errors) > 0
		if got != c.broken {
			t.Errorf("%s: broken=%v, want %v\n%s", c.name, got, c.broken, parsed[i].errorText())
		}
	}
}

// TestPolicy: the templates under infra/ break no rule.
func TestPolicy(t *testing.T) {
	set := infraSet(t)
	for _, v := range policyViolations(set) {
		t.Error(v)
	}
}

// TestAppSettingsMatchHandlerAndHost: Bicep sets every app setting the
// handler, the host and function.json require, and none that nobody reads.
func TestAppSettingsMatchHandlerAndHost(t *testing.T) {
	set := infraSet(t)
	var names []string
	values := map[string]*Node{}
	for _, path := range set.Order {
		settings, errs := appSettings(set.Files[path])
		for _, err := range errs {
			t.Error(err)
		}
		for _, s := range settings {
			names = append(names, s.Name)
			values[s.Name] = s.Value
		}
	}
	if len(names) == 0 {
		t.Fatal("no app settings found in infra/ (a Microsoft.Web/sites/config 'appsettings' resource or siteConfig.appSettings)")
	}
	refs, err := functionJSONRefs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Bicep sets %d app settings; function.json references: %v", len(names), refs)
	for _, p := range consistencyProblems(names, config.Settings, hostSettings, refs) {
		t.Error(p)
	}

	// Values that have exactly one right answer.
	if !isString(values["AzureWebJobsDisableHomepage"], "true") {
		t.Error("AzureWebJobsDisableHomepage must be 'true'")
	}
	if !isString(values["AzureWebJobsStorage__credential"], "managedidentity") {
		t.Error("AzureWebJobsStorage__credential must be 'managedidentity'")
	}
	if !isKeyVaultReference(values[config.ClientSecret]) {
		t.Errorf("%s must be a Key Vault reference", config.ClientSecret)
	}
	if v := values[config.TableEndpoint]; v == nil || v.Text != "storageTableEndpoint" {
		t.Errorf("%s must be the storage account's table endpoint (https://{account}.table.core.windows.net/)", config.TableEndpoint)
	}
	if v := values[config.PublicBaseURL]; v == nil || !strings.Contains(v.Text, "defaultOrigin") {
		t.Errorf("%s must default to the site's own https origin", config.PublicBaseURL)
	}
}

// TestConsistencyCatches proves the consistency check can fail.
func TestConsistencyCatches(t *testing.T) {
	handler := []config.Setting{
		{Name: "NEEDED", Required: true},
		{Name: "OPTIONAL"},
		{Name: "LOCAL", LocalOnly: true},
		{Name: config.Port},
		{Name: config.TableEndpoint},
		{Name: config.ManagedIdentityID},
	}
	host := []hostSetting{{"HOST_READS", "test"}}
	complete := []string{"NEEDED", config.TableEndpoint, config.ManagedIdentityID, "HOST_READS", "SCHEDULE"}
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
		{"required in Azure missing", without(complete, config.TableEndpoint), refs, "the handler requires " + config.TableEndpoint},
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

// TestPolicyCatches feeds each rule known-bad Bicep and asserts it is
// caught, and the corrected snippet is not.
func TestPolicyCatches(t *testing.T) {
	type files = map[string]string
	one := func(src string) files { return files{"main.bicep": src} }
	cases := []struct {
		name, rule string
		bad, good  files
	}{
		{
			"shared keys allowed", "storage-shared-key",
			one(storage("allowSharedKeyAccess: true")),
			one(storage("allowSharedKeyAccess: false")),
		},
		{
			"shared keys left at the default (allowed)", "storage-shared-key",
			one(storage("allowBlobPublicAccess: false")),
			one(storage("allowSharedKeyAccess: false")),
		},
		{
			"public blob access", "storage-hardening",
			one(storage("allowSharedKeyAccess: false\n    allowBlobPublicAccess: true\n    minimumTlsVersion: 'TLS1_2'")),
			one(storage("allowSharedKeyAccess: false\n    allowBlobPublicAccess: false\n    minimumTlsVersion: 'TLS1_2'")),
		},
		{
			"guid over a principalId parameter", "role-name",
			one(roleAssignment("guid(st.id, principalId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"guid over an identity's principalId", "role-name",
			one(roleAssignment("guid(st.id, identity.properties.principalId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
			one(roleAssignment("guid(st.id, identity.id, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"guid without the scope", "role-name",
			one(roleAssignment("guid(resourceGroup().id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"missing principalType", "role-principal-type",
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "")),
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"unknown role ID (Contributor)", "role-definition",
			one(roleAssignment("guid(st.id, identityId, roles.table)", "b24988ac-6180-42a0-ab88-20f7382dd24c' // Contributor", "principalType: 'ServicePrincipal'")),
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"built-in role without its name beside it", "role-definition",
			one(roleAssignment("guid(st.id, identityId, roles.table)", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'", "principalType: 'ServicePrincipal'")),
			one(roleAssignment("guid(st.id, identityId, roles.table)", tableRole, "principalType: 'ServicePrincipal'")),
		},
		{
			"enablePurgeProtection: false", "purge-protection",
			one(vault("enablePurgeProtection: false")),
			one(vault("enablePurgeProtection: purge ? true : null")),
		},
		{
			"enablePurgeProtection from a bool parameter", "purge-protection",
			one(vault("enablePurgeProtection: purge")),
			one(vault("enablePurgeProtection: true")),
		},
		{
			"vault with access policies", "key-vault-rbac",
			one(vault("enableRbacAuthorization: true\n    accessPolicies: []")),
			one(vault("enableRbacAuthorization: true")),
		},
		{
			"secret in a plain app setting", "secret-app-setting",
			one(appSettingsSnippet("B2C_CLIENT_SECRET: clientSecret")),
			one(appSettingsSnippet("B2C_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${secretUri})'")),
		},
		{
			"secure parameter in a setting with an innocent name", "secret-app-setting",
			one(appSettingsSnippet("GREETING: clientSecret")),
			one(appSettingsSnippet("GREETING: secretUri")),
		},
		{
			"API key literal in siteConfig.appSettings", "secret-app-setting",
			one(site("httpsOnly: true", "{ name: 'API_KEY', value: 'abc123' }")),
			one(site("httpsOnly: true", "{ name: 'API_KEY', value: '@Microsoft.KeyVault(SecretUri=${secretUri})' }")),
		},
		{
			"FUNCTIONS_WORKER_RUNTIME on Flex", "flex-app-setting",
			one(site("httpsOnly: true", "{ name: 'FUNCTIONS_WORKER_RUNTIME', value: 'custom' }")),
			one(site("httpsOnly: true", "{ name: 'LOG_LEVEL', value: 'info' }")),
		},
		{
			"WEBSITE_RUN_FROM_PACKAGE on Flex", "flex-app-setting",
			one(appSettingsSnippet("WEBSITE_RUN_FROM_PACKAGE: '1'")),
			one(appSettingsSnippet("LOG_LEVEL: 'info'")),
		},
		{
			"httpsOnly missing", "https-only",
			one(site("clientAffinityEnabled: false", "{ name: 'LOG_LEVEL', value: 'info' }")),
			one(site("httpsOnly: true", "{ name: 'LOG_LEVEL', value: 'info' }")),
		},
		{
			"httpsOnly false", "https-only",
			one(site("httpsOnly: false", "{ name: 'LOG_LEVEL', value: 'info' }")),
			one(site("httpsOnly: true", "{ name: 'LOG_LEVEL', value: 'info' }")),
		},
		{
			"runtime other than custom", "flex-consumption",
			one(strings.Replace(site("httpsOnly: true", "{ name: 'LOG_LEVEL', value: 'info' }"), "name: 'custom'", "name: 'node'", 1)),
			one(site("httpsOnly: true", "{ name: 'LOG_LEVEL', value: 'info' }")),
		},
		{
			"host storage by connection string", "host-storage-identity",
			one(appSettingsSnippet("AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=st'")),
			one(appSettingsSnippet("AzureWebJobsStorage__accountName: 'st'\n    AzureWebJobsStorage__credential: 'managedidentity'\n    AzureWebJobsStorage__clientId: secretUri")),
		},
		{
			"host storage identity without a client ID", "host-storage-identity",
			one(appSettingsSnippet("AzureWebJobsStorage__accountName: 'st'\n    AzureWebJobsStorage__credential: 'managedidentity'")),
			one(appSettingsSnippet("AzureWebJobsStorage__accountName: 'st'\n    AzureWebJobsStorage__credential: 'managedidentity'\n    AzureWebJobsStorage__clientId: secretUri")),
		},
		{
			"account key read with listKeys", "list-keys",
			one("resource st 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {\n  name: 'st'\n}\noutput conn string = 'AccountName=st;AccountKey=${st.listKeys().keys[0].value}'\n"),
			one("resource st 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {\n  name: 'st'\n}\noutput endpoint string = st.properties.primaryEndpoints.table\n"),
		},
		{
			"getSecret on a vault", "get-secret",
			files{
				"main.bicep": "resource kv 'Microsoft.KeyVault/vaults@2024-11-01' existing = {\n  name: 'kv'\n}\nmodule m 'm.bicep' = {\n  name: 'm'\n  params: {\n    secret: kv.getSecret('s')\n  }\n}\n",
				"m.bicep":    "@description('s')\n@secure()\nparam secret string\n",
			},
			files{
				"main.bicep": "module m 'm.bicep' = {\n  name: 'm'\n  params: {\n    secret: ''\n  }\n}\n",
				"m.bicep":    "@description('s')\n@secure()\nparam secret string\n",
			},
		},
		{
			"dependsOn", "depends-on",
			one(identityWith("dependsOn: [\n    other\n  ]")),
			one(identityWith("tags: {}")),
		},
		{
			"hard-coded location", "hard-coded-location",
			one(strings.Replace(identityWith("tags: {}"), "location: location", "location: 'westeurope'", 1)),
			one(identityWith("tags: {}")),
		},
		{
			"location parameter with a literal default", "hard-coded-location",
			one(strings.Replace(identityWith("tags: {}"), "= resourceGroup().location", "= 'westeurope'", 1)),
			one(identityWith("tags: {}")),
		},
		{
			"resource without tags", "tags",
			one(identityWith("properties: {}")),
			one(identityWith("tags: {}")),
		},
		{
			"parameter without @description", "param-description",
			one(strings.Replace(identityWith("tags: {}"), "@description('Region.')\n", "", 1)),
			one(identityWith("tags: {}")),
		},
		{
			"API version not pinned", "api-version",
			one(strings.Replace(identityWith("tags: {}"), "@2024-11-30", "@2023-01-31", 1)),
			one(identityWith("tags: {}")),
		},
		{
			"resource type not in the pinned list", "api-version",
			one("resource db 'Microsoft.Sql/servers@2023-08-01' existing = {\n  name: 'db'\n}\n"),
			one("resource st 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {\n  name: 'st'\n}\n"),
		},
		{
			"secret parameter not @secure()", "secure-param",
			one("@description('The secret.')\nparam clientSecret string\noutput n int = length(clientSecret)\n"),
			one("@description('The secret.')\n@secure()\nparam clientSecret string\noutput n int = length(clientSecret)\n"),
		},
		{
			"secure parameter exposed by an output", "secure-output",
			one("@description('The secret.')\n@secure()\nparam clientSecret string\noutput s string = 'v=${clientSecret}'\n"),
			one("@description('The secret.')\n@secure()\nparam clientSecret string\noutput s string = 'v'\n"),
		},
		{
			"unused parameter", "unused-symbol",
			one("@description('Unused.')\nparam unused string\n"),
			one("@description('Used.')\nparam used string\noutput o string = used\n"),
		},
		{
			"secret written into a parameter file", "param-file",
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam secret = 'hunter2'\n"},
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam secret = readEnvironmentVariable('SECRET', '')\n"},
		},
		{
			"secret read with a non-empty default", "param-file",
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam secret = readEnvironmentVariable('SECRET', 'hunter2')\n"},
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam secret = readEnvironmentVariable('SECRET')\n"},
		},
		{
			"parameter file assigns an unknown or disallowed value", "param-file",
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam size = 1024\nparam nmae = 'typo'\n"},
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\nparam size = 512\n"},
		},
		{
			"parameter file misses a required parameter", "param-file",
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam size = 512\n"},
			files{"main.bicep": paramTarget, "dev.bicepparam": "using 'main.bicep'\nparam name = 'dev'\n"},
		},
		{
			"module passed an undeclared parameter", "module-contract",
			files{"main.bicep": "module m 'm.bicep' = {\n  name: 'm'\n  params: {\n    a: 'x'\n    b: 'y'\n  }\n}\noutput o string = m.outputs.nope\n", "m.bicep": "@description('a')\nparam a string\noutput o string = a\n"},
			files{"main.bicep": "module m 'm.bicep' = {\n  name: 'm'\n  params: {\n    a: 'x'\n  }\n}\noutput o string = m.outputs.o\n", "m.bicep": "@description('a')\nparam a string\noutput o string = a\n"},
		},
		{
			"Application Insights with local auth", "app-insights-entra",
			one("resource appi 'Microsoft.Insights/components@2020-02-02' = {\n  name: 'appi'\n  kind: 'web'\n  properties: {\n    Application_Type: 'web'\n    WorkspaceResourceId: 'x'\n    DisableLocalAuth: false\n  }\n}\n"),
			one("resource appi 'Microsoft.Insights/components@2020-02-02' = {\n  name: 'appi'\n  kind: 'web'\n  properties: {\n    Application_Type: 'web'\n    WorkspaceResourceId: 'x'\n    DisableLocalAuth: true\n  }\n}\n"),
		},
	}

	// Write every variant, parse them all in one node run.
	dir := t.TempDir()
	type variant struct {
		caseIndex int
		good      bool
		paths     []string
	}
	var variants []variant
	var all []string
	for i, c := range cases {
		for _, good := range []bool{false, true} {
			fs := c.bad
			sub := "bad"
			if good {
				fs, sub = c.good, "good"
			}
			d := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, c.rule), sub)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			v := variant{caseIndex: i, good: good}
			names := make([]string, 0, len(fs))
			for name := range fs {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				p := filepath.Join(d, name)
				if err := os.WriteFile(p, []byte(fs[name]), 0o644); err != nil {
					t.Fatal(err)
				}
				v.paths = append(v.paths, p)
			}
			variants = append(variants, v)
			all = append(all, v.paths...)
		}
	}
	parsed := parseFiles(t, all...)
	byPath := map[string]parsedFile{}
	for _, p := range parsed {
		byPath[p.File] = p
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.id] = true
	}
	for _, v := range variants {
		c := cases[v.caseIndex]
		if !known[c.rule] {
			t.Fatalf("%s: no rule %q", c.name, c.rule)
		}
		var files []parsedFile
		broken := false
		for _, p := range v.paths {
			pf := byPath[p]
			if len(pf.Errors) > 0 {
				t.Errorf("%s (good=%v): snippet does not parse:\n%s", c.name, v.good, pf.errorText())
				broken = true
			}
			files = append(files, pf)
		}
		if broken {
			continue
		}
		var hits []string
		for _, viol := range policyViolations(newSet(files)) {
			if viol.Rule == c.rule {
				hits = append(hits, viol.String())
			}
		}
		switch {
		case !v.good && len(hits) == 0:
			t.Errorf("%s: rule %s did not catch it", c.name, c.rule)
		case v.good && len(hits) > 0:
			t.Errorf("%s: rule %s fired on the corrected snippet: %v", c.name, c.rule, hits)
		default:
			if !v.good {
				t.Logf("%s: caught: %s", c.name, hits[0])
			}
		}
	}
}

// ---- Snippet builders for TestPolicyCatches ----

func storage(properties string) string {
	return `resource st 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: 'st'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    ` + properties + `
  }
}
`
}

const tableRole = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor"

// roleAssignment builds a role assignment; role is the text after the
// opening quote of the role ID (the ID, the closing quote, a comment).
func roleAssignment(name, role, principalType string) string {
	return `param principalId string
param identityId string
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: 'id'
}
resource st 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: 'st'
}
var roles = {
  table: '` + role + `
}
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: ` + name + `
  scope: st
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.table)
    principalId: principalId
    ` + principalType + `
  }
}
`
}

func vault(properties string) string {
	return `param purge bool
resource kv 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: 'kv'
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableSoftDelete: true
    ` + properties + `
  }
}
`
}

// appSettingsSnippet puts settings in a sites/config 'appsettings' resource.
func appSettingsSnippet(settings string) string {
	return `@secure()
param clientSecret string
param secretUri string
resource site 'Microsoft.Web/sites@2025-03-01' existing = {
  name: 'func'
}
resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    ` + settings + `
  }
}
`
}

// site builds a Flex Consumption site with one siteConfig.appSettings entry.
func site(property, setting string) string {
	return `param identityId string
param secretUri string
param memory int
param maxCount int
resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: 'func'
  kind: 'functionapp,linux'
  properties: {
    ` + property + `
    siteConfig: {
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: [
        ` + setting + `
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: 'https://st.blob.core.windows.net/app'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: memory
        maximumInstanceCount: maxCount
        alwaysReady: []
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}
`
}

func identityWith(extra string) string {
	return `@description('Region.')
param location string = resourceGroup().location
resource other 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: 'other'
}
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id'
  location: location
  ` + extra + `
}
`
}

const paramTarget = `@description('Environment name.')
param name string
@description('A secret.')
@secure()
param secret string = ''
@description('Memory.')
@allowed([
  512
  2048
])
param size int = 2048
output o string = '${name}${size}${length(secret)}'
`
