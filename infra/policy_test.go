package infra_test

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The policy: what the templates must and must not do. Each rule reads the
// syntax trees; TestPolicy runs them over infra/ and TestPolicyCatches
// feeds each one a known-bad snippet. Several rules cover pitfalls that parse
// and even compile but fail at deployment (DESIGN.md section 9), which a
// syntax check alone cannot see.

// pinnedAPIVersions is every resource type the templates may declare and
// the one API version each is pinned to (ARM types compare
// case-insensitively). A new type needs a line here, on purpose.
var pinnedAPIVersions = map[string]string{
	"Microsoft.ManagedIdentity/userAssignedIdentities":          "2024-11-30",
	"Microsoft.OperationalInsights/workspaces":                  "2025-07-01",
	"Microsoft.Insights/components":                             "2020-02-02",
	"Microsoft.Storage/storageAccounts":                         "2025-06-01",
	"Microsoft.Storage/storageAccounts/blobServices":            "2025-06-01",
	"Microsoft.Storage/storageAccounts/blobServices/containers": "2025-06-01",
	"Microsoft.Storage/storageAccounts/tableServices":           "2025-06-01",
	"Microsoft.Storage/storageAccounts/tableServices/tables":    "2025-06-01",
	"Microsoft.KeyVault/vaults":                                 "2024-11-01",
	"Microsoft.KeyVault/vaults/secrets":                         "2024-11-01",
	"Microsoft.Web/serverfarms":                                 "2025-03-01",
	"Microsoft.Web/sites":                                       "2025-03-01",
	"Microsoft.Web/sites/config":                                "2025-03-01",
	"Microsoft.Web/sites/basicPublishingCredentialsPolicies":    "2025-03-01",
	"Microsoft.Authorization/roleAssignments":                   "2022-04-01",
}

// builtInRoles are the only role definitions the app's identity may be
// granted: ID → the built-in role's name (the comment beside the ID must
// name it).
var builtInRoles = map[string]string{
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}

// flexRejectedSettings are app settings that Flex Consumption rejects or
// ignores (its runtime and scale live in functionAppConfig), plus legacy
// ones carrying a storage or instrumentation key. (AzureWebJobsStorage
// itself is the host-storage-identity rule's.)
var flexRejectedSettings = []string{
	"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION", "FUNCTIONS_EXTENSION_VERSION",
	"FUNCTIONS_MAX_HTTP_CONCURRENCY", "FUNCTIONS_WORKER_PROCESS_COUNT", "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
	"SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD",
	"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTOVERVNET",
	"WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_NODE_DEFAULT_VERSION",
	"WEBSITE_DNS_SERVER", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_VNET_ROUTE_ALL",
	"AzureWebJobsDashboard", "APPINSIGHTS_INSTRUMENTATIONKEY",
}

// notSecretSettings look like secrets by name but are not.
var notSecretSettings = map[string]string{
	// Holds only the ingestion endpoint and instrumentation key; with the
	// component's local auth disabled the key grants nothing.
	"APPLICATIONINSIGHTS_CONNECTION_STRING": "local auth disabled",
}

// Violation is one broken rule.
type Violation struct {
	Rule string
	File string
	Line int
	Msg  string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s:%d: [%s] %s", v.File, v.Line, v.Rule, v.Msg)
}

type reporter func(line int, format string, args ...any)

// A rule checks one template; the Set gives it the other files.
type rule struct {
	id    string
	check func(s *Set, t *Template, report reporter)
}

// rules is the policy, in the order reports are read.
var rules = []rule{
	{"api-version", ruleAPIVersion},
	{"storage-shared-key", ruleStorageSharedKey},
	{"storage-hardening", ruleStorageHardening},
	{"list-keys", ruleListKeys},
	{"https-only", ruleHTTPSOnly},
	{"site-tls-ftps", ruleSiteTLSAndFTPS},
	{"flex-consumption", ruleFlexConsumption},
	{"flex-app-setting", ruleFlexAppSettings},
	{"host-storage-identity", ruleHostStorageIdentity},
	{"secret-app-setting", ruleSecretAppSetting},
	{"key-vault-reference-identity", ruleKeyVaultReferenceIdentity},
	{"app-insights-entra", ruleAppInsightsEntra},
	{"role-definition", ruleRoleDefinition},
	{"role-principal-type", ruleRolePrincipalType},
	{"role-name", ruleRoleName},
	{"purge-protection", rulePurgeProtection},
	{"key-vault-rbac", ruleKeyVaultRBAC},
	{"get-secret", ruleGetSecret},
	{"hard-coded-location", ruleLocation},
	{"tags", ruleTags},
	{"naming", ruleNaming},
	{"param-description", ruleParamDescription},
	{"secure-param", ruleSecureParam},
	{"secure-output", ruleSecureOutput},
	{"depends-on", ruleDependsOn},
	{"unused-symbol", ruleUnused},
	{"module-contract", ruleModuleContract},
	{"param-file", ruleParamFile},
}

// policyViolations runs every rule over every file of the set.
func policyViolations(s *Set) []Violation {
	var out []Violation
	for _, path := range s.Order {
		t := s.Files[path]
		if t.Root == nil {
			continue
		}
		for _, r := range rules {
			r.check(s, t, func(line int, format string, args ...any) {
				out = append(out, Violation{Rule: r.id, File: t.Name, Line: line, Msg: fmt.Sprintf(format, args...)})
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// deployed lists the resources a template creates (not `existing` ones).
func deployed(t *Template, typ string) []*Resource {
	var out []*Resource
	for _, r := range t.resourcesOf(typ) {
		if !r.Existing && r.Body != nil {
			out = append(out, r)
		}
	}
	return out
}

func ruleAPIVersion(_ *Set, t *Template, report reporter) {
	for _, r := range t.Resources {
		want := ""
		for typ, v := range pinnedAPIVersions {
			if strings.EqualFold(typ, r.Type) {
				want = v
			}
		}
		switch {
		case want == "":
			report(r.Line, "resource type %s is not in the pinned list (pinnedAPIVersions in infra/policy_test.go): add it with a reason", r.Type)
		case r.Version != want:
			report(r.Line, "%s@%s: pinned API version is %s", r.Type, r.Version, want)
		}
	}
}

func ruleStorageSharedKey(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowSharedKeyAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowSharedKeyAccess: false (Entra ID only; account keys allow everything)", r.Symbol)
		}
	}
}

func ruleStorageHardening(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowBlobPublicAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowBlobPublicAccess: false", r.Symbol)
		}
		if !isString(prop(r.Body, "properties", "minimumTlsVersion"), "TLS1_2", "TLS1_3") {
			report(r.Line, "storage account %s must set properties.minimumTlsVersion: 'TLS1_2'", r.Symbol)
		}
		if isBool(prop(r.Body, "properties", "supportsHttpsTrafficOnly"), false) {
			report(r.Line, "storage account %s allows plain HTTP", r.Symbol)
		}
	}
	for _, r := range deployed(t, "Microsoft.Storage/storageAccounts/blobServices/containers") {
		if a := prop(r.Body, "properties", "publicAccess"); a != nil && !isString(a, "None") {
			report(r.Line, "container %s must not allow public access", r.Symbol)
		}
	}
}

var keyInString = regexp.MustCompile(`(?i)(AccountKey|SharedAccessSignature|SharedAccessKey)=`)

func ruleListKeys(_ *Set, t *Template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		switch n.Type {
		case "call_expression":
			if name := callName(n); strings.HasPrefix(name, "list") {
				report(n.Line, "%s() reads keys or secrets into the deployment; use identities (and Key Vault references)", name)
			}
		case "string":
			if keyInString.MatchString(n.Text) {
				report(n.Line, "a connection string with a key or SAS: %s", n.Text)
			}
		}
		return true
	})
}

func ruleHTTPSOnly(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Web/sites") {
		if !isBool(prop(r.Body, "properties", "httpsOnly"), true) {
			report(r.Line, "site %s must set properties.httpsOnly: true", r.Symbol)
		}
	}
}

func ruleSiteTLSAndFTPS(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Web/sites") {
		sc := prop(r.Body, "properties", "siteConfig")
		if !isString(prop(sc, "ftpsState"), "Disabled") {
			report(r.Line, "site %s must set siteConfig.ftpsState: 'Disabled'", r.Symbol)
		}
		if !isString(prop(sc, "minTlsVersion"), "1.2", "1.3") {
			report(r.Line, "site %s must set siteConfig.minTlsVersion: '1.2'", r.Symbol)
		}
		if v := prop(sc, "scmMinTlsVersion"); v != nil && !isString(v, "1.2", "1.3") {
			report(r.Line, "site %s: siteConfig.scmMinTlsVersion below 1.2", r.Symbol)
		}
	}
}

func ruleFlexConsumption(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Web/serverfarms") {
		if !isString(prop(r.Body, "sku", "name"), "FC1") || !isString(prop(r.Body, "sku", "tier"), "FlexConsumption") {
			report(r.Line, "plan %s must be Flex Consumption: sku { name: 'FC1', tier: 'FlexConsumption' }", r.Symbol)
		}
		if !isBool(prop(r.Body, "properties", "reserved"), true) {
			report(r.Line, "plan %s must be Linux: properties.reserved: true", r.Symbol)
		}
	}
	for _, r := range deployed(t, "Microsoft.Web/sites") {
		if !isString(prop(r.Body, "kind"), "functionapp,linux") {
			report(r.Line, "site %s must be kind 'functionapp,linux'", r.Symbol)
		}
		cfg := prop(r.Body, "properties", "functionAppConfig")
		if !isString(prop(cfg, "runtime", "name"), "custom") || !isString(prop(cfg, "runtime", "version"), "1.0") {
			report(r.Line, "site %s must run a custom handler: functionAppConfig.runtime { name: 'custom', version: '1.0' }", r.Symbol)
		}
		st := prop(cfg, "deployment", "storage")
		if !isString(prop(st, "type"), "blobContainer") || !isString(prop(st, "authentication", "type"), "UserAssignedIdentity") || prop(st, "authentication", "userAssignedIdentityResourceId") == nil {
			report(r.Line, "site %s: deployment storage must be a blob container reached with the user-assigned identity", r.Symbol)
		}
		for _, k := range []string{"instanceMemoryMB", "maximumInstanceCount", "alwaysReady"} {
			v := prop(cfg, "scaleAndConcurrency", k)
			if v == nil || isLiteral(v) {
				report(r.Line, "site %s: functionAppConfig.scaleAndConcurrency.%s must come from a parameter", r.Symbol, k)
			}
		}
	}
}

func ruleFlexAppSettings(_ *Set, t *Template, report reporter) {
	settings, _ := appSettings(t)
	for _, s := range settings {
		for _, bad := range flexRejectedSettings {
			if strings.EqualFold(s.Name, bad) {
				report(s.Line, "app setting %s is rejected or ignored on Flex Consumption", s.Name)
			}
		}
	}
}

func ruleHostStorageIdentity(_ *Set, t *Template, report reporter) {
	settings, errs := appSettings(t)
	for _, err := range errs {
		report(0, "%v", err)
	}
	byName := map[string]AppSetting{}
	for _, s := range settings {
		byName[s.Name] = s
		if strings.EqualFold(s.Name, "AzureWebJobsStorage") {
			report(s.Line, "AzureWebJobsStorage is a connection string with an account key; use AzureWebJobsStorage__accountName/__credential/__clientId")
		}
	}
	if _, ok := byName["AzureWebJobsStorage__accountName"]; !ok {
		return
	}
	if s := byName["AzureWebJobsStorage__credential"]; !isString(s.Value, "managedidentity") {
		report(s.Line, "AzureWebJobsStorage__credential must be 'managedidentity'")
	}
	if _, ok := byName["AzureWebJobsStorage__clientId"]; !ok {
		report(0, "AzureWebJobsStorage__clientId missing: the host would look for a system-assigned identity")
	}
}

// secretWords mark an app setting name as a secret when the name ends with
// one (B2C_CLIENT_SECRET, API_KEY, X_CONNECTION_STRING; not
// B2C_PASSWORD_RESET_POLICY).
var secretWords = map[string]bool{"SECRET": true, "PASSWORD": true, "PWD": true, "TOKEN": true, "KEY": true, "APIKEY": true, "SAS": true, "CONNECTIONSTRING": true}

func secretName(name string) bool {
	if _, ok := notSecretSettings[name]; ok {
		return false
	}
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' })
	n := len(words)
	return n > 0 && (secretWords[words[n-1]] || (n > 1 && words[n-2] == "CONNECTION" && words[n-1] == "STRING"))
}

func isKeyVaultReference(n *Node) bool {
	return strings.HasPrefix(stringPrefix(n), "@Microsoft.KeyVault(")
}

func ruleSecretAppSetting(_ *Set, t *Template, report reporter) {
	settings, _ := appSettings(t)
	secure := map[string]bool{}
	for _, p := range t.Params {
		if p.secure() {
			secure[p.Name] = true
		}
	}
	for _, s := range settings {
		if secretName(s.Name) && !isKeyVaultReference(s.Value) {
			report(s.Line, "app setting %s holds a secret: make it a Key Vault reference '@Microsoft.KeyVault(SecretUri=...)'", s.Name)
		}
		for _, ref := range references(s.Value) {
			if secure[ref] {
				report(s.Line, "app setting %s carries the @secure() parameter %s in plain text; store it in Key Vault and reference it", s.Name, ref)
			}
		}
	}
}

func ruleKeyVaultReferenceIdentity(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Web/sites") {
		idType, _ := stringValue(prop(r.Body, "identity", "type"))
		if strings.Contains(idType, "UserAssigned") && prop(r.Body, "properties", "keyVaultReferenceIdentity") == nil {
			report(r.Line, "site %s has a user-assigned identity but no keyVaultReferenceIdentity: Key Vault references would use a system-assigned identity", r.Symbol)
		}
	}
}

func ruleAppInsightsEntra(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Insights/components") {
		if !isBool(prop(r.Body, "properties", "DisableLocalAuth"), true) {
			report(r.Line, "Application Insights %s must set DisableLocalAuth: true (Entra ID ingestion only)", r.Symbol)
		}
		if prop(r.Body, "properties", "WorkspaceResourceId") == nil {
			report(r.Line, "Application Insights %s must be workspace-based (WorkspaceResourceId)", r.Symbol)
		}
	}
	settings, _ := appSettings(t)
	for _, s := range settings {
		if s.Name == "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" && !strings.Contains(s.Value.Text, "Authorization=AAD") {
			report(s.Line, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be 'ClientId=<id>;Authorization=AAD'")
		}
	}
}

var guidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// roleID resolves a roleDefinitionId expression to the role's GUID:
// subscriptionResourceId('Microsoft.Authorization/roleDefinitions', X)
// where X is a literal, a variable or a property of an object variable.
func roleID(t *Template, n *Node) (string, bool) {
	n = t.resolveVar(n)
	if n == nil {
		return "", false
	}
	if v, ok := stringValue(n); ok {
		return guidRE.FindString(v), guidRE.MatchString(v)
	}
	if n.Type == "call_expression" {
		switch callName(n) {
		case "subscriptionResourceId", "resourceId", "tenantResourceId":
			args := callArgs(n)
			if len(args) == 2 && isString(args[0], "Microsoft.Authorization/roleDefinitions") {
				return roleID(t, args[1])
			}
		}
		return "", false
	}
	if n.Type == "member_expression" && len(n.Children) == 2 && n.Children[0].Type == "identifier" {
		if obj := t.resolveVar(n.Children[0]); obj != nil && obj.Type == "object" {
			return roleID(t, prop(obj, n.Children[1].Text))
		}
	}
	return "", false
}

func ruleRoleDefinition(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Authorization/roleAssignments") {
		def := prop(r.Body, "properties", "roleDefinitionId")
		id, ok := roleID(t, def)
		name, known := builtInRoles[strings.ToLower(id)]
		if !ok || !known {
			report(r.Line, "role assignment %s: roleDefinitionId %q is not one of the named built-in roles (builtInRoles in infra/policy_test.go)", r.Symbol, textOf(def))
			continue
		}
		// The role's ID must sit beside a comment naming it.
		named := false
		for _, line := range t.Source {
			if strings.Contains(strings.ToLower(line), id) && strings.Contains(line, "// "+name) {
				named = true
			}
		}
		if !named {
			report(r.Line, "role assignment %s: write the role's name beside its ID (// %s)", r.Symbol, name)
		}
	}
}

func textOf(n *Node) string {
	if n == nil {
		return "(missing)"
	}
	return n.Text
}

func ruleRolePrincipalType(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Authorization/roleAssignments") {
		if !isString(prop(r.Body, "properties", "principalType"), "ServicePrincipal") {
			report(r.Line, "role assignment %s must set principalType: 'ServicePrincipal' (a new identity otherwise fails with PrincipalNotFound while it replicates)", r.Symbol)
		}
	}
}

var principalIDRE = regexp.MustCompile(`(?i)principalId`)

func ruleRoleName(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.Authorization/roleAssignments") {
		name := prop(r.Body, "name")
		if callName(name) != "guid" {
			report(r.Line, "role assignment %s: name must be guid(scope.id, identity resource ID, role ID)", r.Symbol)
			continue
		}
		args := callArgs(name)
		if len(args) < 3 {
			report(r.Line, "role assignment %s: guid() needs the scope, the identity's resource ID and the role", r.Symbol)
		}
		for _, a := range args {
			if principalIDRE.MatchString(a.Text) {
				report(r.Line, "role assignment %s: guid() over a principalId (%s) is unknown at the start of the deployment (BCP120); use the identity's resource ID", r.Symbol, a.Text)
			}
		}
		if scope := prop(r.Body, "scope"); scope != nil && scope.Type == "identifier" {
			found := false
			for _, a := range args {
				if a.Text == scope.Text+".id" {
					found = true
				}
			}
			if !found {
				report(r.Line, "role assignment %s: guid() must include its scope's ID (%s.id)", r.Symbol, scope.Text)
			}
		}
	}
}

func rulePurgeProtection(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.KeyVault/vaults") {
		v := prop(r.Body, "properties", "enablePurgeProtection")
		ok := v == nil || isBool(v, true) || v.Type == "null"
		if v != nil && v.Type == "ternary_expression" && len(v.Children) == 3 {
			ok = true
			for _, branch := range v.Children[1:] {
				if !(isBool(branch, true) || branch.Type == "null") {
					ok = false
				}
			}
		}
		if !ok {
			report(r.Line, "vault %s: enablePurgeProtection %q can be false, which the service rejects; emit true or null (cond ? true : null)", r.Symbol, v.Text)
		}
	}
}

func ruleKeyVaultRBAC(_ *Set, t *Template, report reporter) {
	for _, r := range deployed(t, "Microsoft.KeyVault/vaults") {
		if !isBool(prop(r.Body, "properties", "enableRbacAuthorization"), true) {
			report(r.Line, "vault %s must set enableRbacAuthorization: true", r.Symbol)
		}
		if prop(r.Body, "properties", "accessPolicies") != nil {
			report(r.Line, "vault %s: access policies bypass RBAC; remove them", r.Symbol)
		}
		if !isBool(prop(r.Body, "properties", "enableSoftDelete"), true) {
			report(r.Line, "vault %s must set enableSoftDelete: true", r.Symbol)
		}
	}
}

func ruleGetSecret(_ *Set, t *Template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if callName(n) == "getSecret" {
			report(n.Line, "getSecret() is circular on a vault this deployment creates, and passes a secret around; use a Key Vault reference in the app setting")
		}
		return true
	})
}

func ruleLocation(_ *Set, t *Template, report reporter) {
	check := func(obj *Node) {
		if v := prop(obj, "location"); v != nil && isLiteral(v) && !isString(v, "global") {
			report(v.Line, "hard-coded location %s; pass the location parameter", v.Text)
		}
	}
	for _, r := range t.Resources {
		check(r.Body)
	}
	for _, m := range t.Modules {
		check(prop(m.Body, "params"))
	}
	for _, p := range t.Params {
		if strings.EqualFold(p.Name, "location") && p.Default != nil && isLiteral(p.Default) {
			report(p.Line, "parameter location defaults to %s; default to resourceGroup().location", p.Default.Text)
		}
	}
}

// taggable: top-level resource types other than role assignments.
func taggable(r *Resource) bool {
	return strings.Count(r.Type, "/") == 1 && !strings.EqualFold(r.Type, "Microsoft.Authorization/roleAssignments")
}

func ruleTags(_ *Set, t *Template, report reporter) {
	for _, r := range t.Resources {
		if !r.Existing && r.Body != nil && taggable(r) && prop(r.Body, "tags") == nil {
			report(r.Line, "resource %s has no tags", r.Symbol)
		}
	}
	if len(t.Modules) > 0 && !strings.Contains(strings.Join(t.Source, "\n"), "'azd-env-name'") {
		report(1, "the composing template must tag resources with 'azd-env-name'")
	}
}

var resourceTokenRE = regexp.MustCompile(`uniqueString\(\s*subscription\(\)\.id\s*,\s*resourceGroup\(\)\.id\s*,\s*location\s*\)`)

func ruleNaming(_ *Set, t *Template, report reporter) {
	if len(t.Modules) == 0 || t.IsParams {
		return
	}
	found := false
	for _, v := range t.Vars {
		if resourceTokenRE.MatchString(v.Text) {
			found = true
		}
	}
	if !found {
		report(1, "the composing template must derive names from uniqueString(subscription().id, resourceGroup().id, location)")
	}
}

func ruleParamDescription(_ *Set, t *Template, report reporter) {
	for _, p := range t.Params {
		if p.Decorators["description"] == nil {
			report(p.Line, "parameter %s has no @description", p.Name)
		}
	}
}

var secretParamRE = regexp.MustCompile(`(?i)(secret|password|token|key)(value)?$`)

func ruleSecureParam(_ *Set, t *Template, report reporter) {
	for _, p := range t.Params {
		if secretParamRE.MatchString(p.Name) && !p.secure() {
			report(p.Line, "parameter %s looks like a secret: mark it @secure()", p.Name)
		}
		if p.secure() && p.Default != nil {
			if v, ok := stringValue(p.Default); !ok || v != "" {
				report(p.Line, "@secure() parameter %s has a non-empty default", p.Name)
			}
		}
	}
}

func ruleSecureOutput(_ *Set, t *Template, report reporter) {
	for _, o := range t.Outputs {
		for _, ref := range references(o.Value) {
			if p := t.param(ref); p != nil && p.secure() {
				report(o.Line, "output %s exposes the @secure() parameter %s", o.Name, ref)
			}
		}
	}
}

func ruleDependsOn(_ *Set, t *Template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if n.Type == "object_property" && len(n.Children) > 1 && n.Children[0].Text == "dependsOn" {
			report(n.Line, "dependsOn: reference the resource symbolically instead")
		}
		return true
	})
}

func ruleUnused(_ *Set, t *Template, report reporter) {
	if t.IsParams {
		return
	}
	used := map[string]bool{}
	for _, n := range t.Root.Children {
		children := n.Children
		switch n.Type {
		case "parameter_declaration", "variable_declaration", "output_declaration":
			if len(children) > 0 {
				children = children[1:] // not the declared name itself
			}
		}
		for _, c := range children {
			for _, r := range references(c) {
				used[r] = true
			}
		}
	}
	for _, p := range t.Params {
		if !used[p.Name] {
			report(p.Line, "parameter %s is never used", p.Name)
		}
	}
	for name, v := range t.Vars {
		if !used[name] {
			report(v.Line, "variable %s is never used", name)
		}
	}
}

func ruleModuleContract(s *Set, t *Template, report reporter) {
	mods := map[string]*Template{}
	for _, m := range t.Modules {
		mt := s.resolve(t, m.Path)
		if mt == nil {
			report(m.Line, "module %s: %s was not found among the parsed files", m.Symbol, m.Path)
			continue
		}
		mods[m.Symbol] = mt
		passed := map[string]bool{}
		for _, p := range props(prop(m.Body, "params")) {
			passed[p.Key] = true
			if mt.param(p.Key) == nil {
				report(p.Line, "module %s: %s declares no parameter %s", m.Symbol, m.Path, p.Key)
			}
		}
		for _, p := range mt.Params {
			if p.Default == nil && !strings.HasSuffix(p.Type, "?") && !passed[p.Name] {
				report(m.Line, "module %s: required parameter %s of %s is not passed", m.Symbol, p.Name, m.Path)
			}
		}
	}
	// mod.outputs.NAME must be an output of the module.
	t.Root.walk(func(n *Node) bool {
		if n.Type != "member_expression" || len(n.Children) != 2 {
			return true
		}
		inner := n.Children[0]
		if inner.Type == "member_expression" && len(inner.Children) == 2 && inner.Children[1].Text == "outputs" && inner.Children[0].Type == "identifier" {
			if mt := mods[inner.Children[0].Text]; mt != nil && mt.output(n.Children[1].Text) == nil {
				report(n.Line, "%s: %s has no output %s", n.Text, mt.Name, n.Children[1].Text)
			}
		}
		return true
	})
}

func ruleParamFile(s *Set, t *Template, report reporter) {
	if !t.IsParams {
		return
	}
	path, ok := stringValue(t.Using)
	if !ok {
		report(1, "a .bicepparam file must start with using '<template>.bicep'")
		return
	}
	target := s.resolve(t, path)
	if target == nil {
		report(t.Using.Line, "using %s: template not found among the parsed files", path)
		return
	}
	assigned := map[string]bool{}
	for _, a := range t.Assignments {
		assigned[a.Name] = true
		p := target.param(a.Name)
		if p == nil {
			report(a.Line, "%s declares no parameter %s", target.Name, a.Name)
			continue
		}
		if p.secure() {
			// Secrets come from the environment, never from the file.
			args := callArgs(a.Value)
			if callName(a.Value) != "readEnvironmentVariable" || len(args) == 0 || (len(args) > 1 && !isString(args[1], "")) {
				report(a.Line, "@secure() parameter %s must be read with readEnvironmentVariable('NAME'[, '']), never written here", a.Name)
			}
			continue
		}
		checkAllowed(p, a, report)
	}
	for _, p := range target.Params {
		if p.Default == nil && !strings.HasSuffix(p.Type, "?") && !assigned[p.Name] {
			report(1, "required parameter %s of %s is not assigned", p.Name, target.Name)
		}
	}
}

// checkAllowed checks a literal assignment against the parameter's
// @allowed, @minValue and @maxValue.
func checkAllowed(p *Param, a *Assignment, report reporter) {
	if !isLiteral(a.Value) {
		return
	}
	if call := p.Decorators["allowed"]; call != nil {
		ok := false
		for _, args := range callArgs(call) {
			for _, e := range args.Children {
				if e.Text == a.Value.Text {
					ok = true
				}
			}
		}
		if !ok {
			report(a.Line, "%s = %s is not one of %s", a.Name, a.Value.Text, strings.Join(strings.Fields(callArgs(call)[0].Text), " "))
		}
	}
	v, err := strconv.Atoi(a.Value.Text)
	if err != nil {
		return
	}
	for _, bound := range []string{"minValue", "maxValue"} {
		call := p.Decorators[bound]
		if call == nil || len(callArgs(call)) != 1 {
			continue
		}
		b, err := strconv.Atoi(callArgs(call)[0].Text)
		if err == nil && ((bound == "minValue" && v < b) || (bound == "maxValue" && v > b)) {
			report(a.Line, "%s = %d is outside @%s(%d)", a.Name, v, bound, b)
		}
	}
}
