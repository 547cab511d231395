package check

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The policy: what the templates must and must not do, one rule a line.
// Each rule reads the syntax trees of one template (the Set gives it the
// other files); each has a known-bad and a corrected snippet in
// testdata/<id>.txtar. Several rules cover pitfalls that parse and even
// compile but fail at deployment, which a syntax check alone cannot see.
var rules = []rule{
	{"api-version", "a resource type missing from pinnedAPIVersions, or another API version than the pinned one", ruleAPIVersion},
	{"storage-shared-key", "a storage account that allows shared keys, or leaves them at the default (allowed)", ruleStorageSharedKey},
	{"storage-hardening", "storage with public blob access, TLS below 1.2 or plain HTTP; a public container", ruleStorageHardening},
	{"list-keys", "list*() calls, and connection strings holding an account key or SAS", ruleListKeys},
	{"https-only", "a site without httpsOnly: true", ruleHTTPSOnly},
	{"site-tls", "a site, or its SCM site, accepting TLS below 1.2", ruleSiteTLS},
	{"flex-site-property", "site properties Flex Consumption does not support (flexUnsupportedSiteProperties, ftpsState among them)", ruleFlexSiteProperties},
	{"flex-consumption", "a plan other than Linux FC1; a site not 'functionapp,linux', not custom 1.0, not deploying from a blob container with the identity, or with literal scale", ruleFlexConsumption},
	{"flex-app-setting", "app settings Flex Consumption rejects or ignores (flexRejectedSettings)", ruleFlexAppSettings},
	{"host-storage-identity", "AzureWebJobsStorage as a connection string; identity host storage without 'managedidentity' or a client ID; app settings not readable statically", ruleHostStorageIdentity},
	{"secret-app-setting", "a secret-named app setting that is not a Key Vault reference; a @secure() parameter in any app setting", ruleSecretAppSetting},
	{"identity-provider", "app settings for the handler (B2C_…) without IDENTITY_PROVIDER, with it set under a condition or from a parameter not @allowed b2c and external-id; a user-flow setting (externalIDRefusedSettings) that can be set when IDENTITY_PROVIDER is external-id", ruleIdentityProvider},
	{"key-vault-reference-identity", "a site with a user-assigned identity but no keyVaultReferenceIdentity", ruleKeyVaultReferenceIdentity},
	{"app-insights-entra", "Application Insights with local auth or without a workspace; an authentication string without Authorization=AAD", ruleAppInsightsEntra},
	{"role-definition", "a role outside builtInRoles, or a role ID without a comment naming the role", ruleRoleDefinition},
	{"role-principal-type", "a role assignment without principalType: 'ServicePrincipal'", ruleRolePrincipalType},
	{"roles-before-app", "a module deploying a site that takes no output of the module granting roles (it could start before its identity holds them)", ruleRolesBeforeApp},
	{"role-name", "a role assignment not named guid(scope.id, identity ID, role), or named over a principalId", ruleRoleName},
	{"purge-protection", "enablePurgeProtection that can be false", rulePurgeProtection},
	{"key-vault-rbac", "a vault without RBAC or soft delete, or with access policies", ruleKeyVaultRBAC},
	{"vault-recovery", "a vault whose createMode is not a parameter: after a delete its name stays taken, and only createMode 'recover' gets it back", ruleVaultRecovery},
	{"get-secret", "getSecret()", ruleGetSecret},
	{"hard-coded-location", "a literal location other than 'global'; a location parameter with a literal default", ruleLocation},
	{"tags", "a top-level resource without tags; a composing template without 'azd-env-name'", ruleTags},
	{"naming", "a composing template whose names do not come from uniqueString(subscription().id, resourceGroup().id, location)", ruleNaming},
	{"param-description", "a parameter without @description", ruleParamDescription},
	{"secure-param", "a secret-named parameter without @secure(); a @secure() parameter with a non-empty default", ruleSecureParam},
	{"first-deploy-secret", "a module fed an optional @secure() parameter ('' default) with no fail() for when it is empty, or a fail() message not naming the variable the parameter files read it from", ruleFirstDeploySecret},
	{"secure-output", "an output that reads a @secure() parameter", ruleSecureOutput},
	{"depends-on", "dependsOn (reference symbolically)", ruleDependsOn},
	{"unused-symbol", "a parameter or variable nothing reads", ruleUnused},
	{"cycle", "a module, resource or variable that depends on itself, directly or through others (Bicep rejects the cycle)", ruleCycle},
	{"diagnostic-settings", "a module deploying a vault or a table service that sends none of its logs to a Log Analytics workspace (a diagnostic setting scoped to it, with workspaceId and logs)", ruleDiagnosticSettings},
	{"alert-action", "an alert rule (metric, log, Event Grid to Azure Monitor) that notifies no action group; an action group with no receiver", ruleAlertAction},
	{"log-alert-schema", "a log alert whose query reads the other schema than its scope: Application Insights' traces/requests/... from a workspace, AppTraces/AppRequests/... from a component", ruleLogAlertSchema},
	{"webtest-link", "an availability test without the hidden-link:<component ID> tag that ties it to its Application Insights component", ruleWebtestLink},
	{"secret-near-expiry", "a vault secret with an expiry but no Event Grid subscription to Microsoft.KeyVault.SecretNearExpiry; one to Azure Monitor alerts not in the CloudEvents v1.0 schema, the only one that destination takes", ruleSecretNearExpiry},
	{"resource-lock", "a module deploying a vault or a storage account with no CanNotDelete lock scoped to it (it may be conditional: production only)", ruleResourceLock},
	{"zone-redundancy", "a parameter file that turns zoneRedundant on with storage other than Standard_ZRS, or fewer than 2 always-ready instances", ruleZoneRedundancy},
	{"flex-subnet", "a subnet delegated to Microsoft.Web/serverFarms (Flex Consumption's delegation is Microsoft.App/environments); a Flex subnet smaller than /27, or with '_' in its name", ruleFlexSubnet},
	{"private-endpoint-dns", "a private endpoint without a private DNS zone group; a private DNS zone linked to no virtual network (the service's name keeps resolving to its public address)", rulePrivateEndpointDNS},
	{"vnet-lockdown", "in a template with a vnetEnabled parameter, a storage account or vault whose public network access does not follow it", ruleVnetLockdown},
	{"module-contract", "a module passed an undeclared parameter, missing a required one, or read for an output it lacks", ruleModuleContract},
	{"param-file", "a parameter file without using, assigning unknown or disallowed values, missing required ones, or writing a secret", ruleParamFile},
}

// rule is one line of the policy.
type rule struct {
	id      string
	forbids string
	check   func(s *Set, t *template, report reporter)
}

type reporter func(line int, format string, args ...any)

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

// Violations runs every rule over every file of the set, by file and line.
func (s *Set) Violations() []Violation {
	var out []Violation
	for _, path := range s.order {
		t := s.files[path]
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

func ruleAPIVersion(_ *Set, t *template, report reporter) {
	for _, r := range t.Resources {
		want := ""
		for typ, v := range pinnedAPIVersions {
			if strings.EqualFold(typ, r.Type) {
				want = v
			}
		}
		switch {
		case want == "":
			report(r.Line, "resource type %s is not in the pinned list (pinnedAPIVersions in infra/check/policy.go): add it with a reason", r.Type)
		case r.Version != want:
			report(r.Line, "%s@%s: pinned API version is %s", r.Type, r.Version, want)
		}
	}
}

func ruleStorageSharedKey(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowSharedKeyAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowSharedKeyAccess: false (Entra ID only; account keys allow everything)", r.Symbol)
		}
	}
}

func ruleStorageHardening(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowBlobPublicAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowBlobPublicAccess: false", r.Symbol)
		}
		if !IsString(prop(r.Body, "properties", "minimumTlsVersion"), "TLS1_2", "TLS1_3") {
			report(r.Line, "storage account %s must set properties.minimumTlsVersion: 'TLS1_2'", r.Symbol)
		}
		if isBool(prop(r.Body, "properties", "supportsHttpsTrafficOnly"), false) {
			report(r.Line, "storage account %s allows plain HTTP", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts/blobServices/containers") {
		if a := prop(r.Body, "properties", "publicAccess"); a != nil && !IsString(a, "None") {
			report(r.Line, "container %s must not allow public access", r.Symbol)
		}
	}
}

var keyInString = regexp.MustCompile(`(?i)(AccountKey|SharedAccessSignature|SharedAccessKey)=`)

func ruleListKeys(_ *Set, t *template, report reporter) {
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

func ruleHTTPSOnly(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		if !isBool(prop(r.Body, "properties", "httpsOnly"), true) {
			report(r.Line, "site %s must set properties.httpsOnly: true", r.Symbol)
		}
	}
}

func ruleSiteTLS(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		sc := prop(r.Body, "properties", "siteConfig")
		if !IsString(prop(sc, "minTlsVersion"), "1.2", "1.3") {
			report(r.Line, "site %s must set siteConfig.minTlsVersion: '1.2'", r.Symbol)
		}
		if v := prop(sc, "scmMinTlsVersion"); v != nil && !IsString(v, "1.2", "1.3") {
			report(r.Line, "site %s: siteConfig.scmMinTlsVersion below 1.2", r.Symbol)
		}
	}
}

func ruleFlexSiteProperties(_ *Set, t *template, report reporter) {
	check := func(obj *Node, where string) {
		for _, p := range props(obj) {
			for _, bad := range flexUnsupportedSiteProperties {
				if strings.EqualFold(p.Key, bad) {
					report(p.Line, "%s.%s: Flex Consumption does not support it (flexUnsupportedSiteProperties)", where, p.Key)
				}
			}
		}
	}
	for _, r := range t.deployed("Microsoft.Web/sites") {
		check(prop(r.Body, "properties"), "site "+r.Symbol+": properties")
		check(prop(r.Body, "properties", "siteConfig"), "site "+r.Symbol+": properties.siteConfig")
	}
	for _, r := range t.deployed("Microsoft.Web/sites/config") {
		if IsString(prop(r.Body, "name"), "web") {
			check(prop(r.Body, "properties"), "config "+r.Symbol+": properties")
		}
	}
}

func ruleFlexConsumption(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/serverfarms") {
		if !IsString(prop(r.Body, "sku", "name"), "FC1") || !IsString(prop(r.Body, "sku", "tier"), "FlexConsumption") {
			report(r.Line, "plan %s must be Flex Consumption: sku { name: 'FC1', tier: 'FlexConsumption' }", r.Symbol)
		}
		if !isBool(prop(r.Body, "properties", "reserved"), true) {
			report(r.Line, "plan %s must be Linux: properties.reserved: true", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Web/sites") {
		if !IsString(prop(r.Body, "kind"), "functionapp,linux") {
			report(r.Line, "site %s must be kind 'functionapp,linux'", r.Symbol)
		}
		cfg := prop(r.Body, "properties", "functionAppConfig")
		if !IsString(prop(cfg, "runtime", "name"), "custom") || !IsString(prop(cfg, "runtime", "version"), "1.0") {
			report(r.Line, "site %s must run a custom handler: functionAppConfig.runtime { name: 'custom', version: '1.0' }", r.Symbol)
		}
		st := prop(cfg, "deployment", "storage")
		if !IsString(prop(st, "type"), "blobContainer") || !IsString(prop(st, "authentication", "type"), "UserAssignedIdentity") || prop(st, "authentication", "userAssignedIdentityResourceId") == nil {
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

func ruleFlexAppSettings(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	for _, s := range settings {
		for _, bad := range flexRejectedSettings {
			if strings.EqualFold(s.Name, bad) {
				report(s.Line, "app setting %s is rejected or ignored on Flex Consumption", s.Name)
			}
		}
	}
}

func ruleHostStorageIdentity(_ *Set, t *template, report reporter) {
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
	if s := byName["AzureWebJobsStorage__credential"]; !IsString(s.Value, "managedidentity") {
		report(s.Line, "AzureWebJobsStorage__credential must be 'managedidentity'")
	}
	if _, ok := byName["AzureWebJobsStorage__clientId"]; !ok {
		report(0, "AzureWebJobsStorage__clientId missing: the host would look for a system-assigned identity")
	}
}

func secretName(name string) bool {
	if _, ok := notSecretSettings[name]; ok {
		return false
	}
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' })
	n := len(words)
	return n > 0 && (secretWords[words[n-1]] || (n > 1 && words[n-2] == "CONNECTION" && words[n-1] == "STRING"))
}

func ruleSecretAppSetting(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	secure := map[string]bool{}
	for _, p := range t.Params {
		if p.secure() {
			secure[p.Name] = true
		}
	}
	for _, s := range settings {
		if secretName(s.Name) && !IsKeyVaultReference(s.Value) {
			report(s.Line, "app setting %s holds a secret: make it a Key Vault reference '@Microsoft.KeyVault(SecretUri=...)'", s.Name)
		}
		for _, ref := range references(s.Value) {
			if secure[ref] {
				report(s.Line, "app setting %s carries the @secure() parameter %s in plain text; store it in Key Vault and reference it", s.Name, ref)
			}
		}
	}
}

func ruleIdentityProvider(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	var first, provider *AppSetting
	for i, s := range settings {
		if strings.HasPrefix(s.Name, "B2C_") && first == nil {
			first = &settings[i]
		}
		if s.Name == "IDENTITY_PROVIDER" {
			provider = &settings[i]
		}
	}
	if first == nil {
		return // not the handler's app settings
	}
	if provider == nil {
		report(first.Line, "the handler's app settings (%s, ...) lack IDENTITY_PROVIDER: the handler then takes the tenant for B2C whatever it is; set IDENTITY_PROVIDER to the template's identityProvider parameter", first.Name)
		return
	}
	if len(provider.When) > 0 {
		report(provider.Line, "IDENTITY_PROVIDER is set under a condition (%s): set it for every kind of tenant", provider.When[0].Test.Text)
	}
	// What IDENTITY_PROVIDER says: a parameter, or one kind for good.
	param := ""
	switch v := t.resolveVar(provider.Value); {
	case v != nil && v.Type == "identifier" && t.param(v.Text) != nil:
		param = v.Text
		allowed := t.param(param).Decorators["allowed"]
		var values []string
		for _, a := range callArgs(allowed) {
			for _, e := range a.Children {
				if v, ok := stringValue(e); ok {
					values = append(values, v)
				}
			}
		}
		slices.Sort(values)
		if !slices.Equal(values, []string{"b2c", "external-id"}) {
			report(provider.Line, "IDENTITY_PROVIDER comes from parameter %s, which must be @allowed(['b2c', 'external-id']): the handler refuses anything else at start-up", param)
		}
	case IsString(v, "b2c"):
		return // a B2C-only template: its user flows are its own
	case IsString(v, "external-id"):
		// param stays "": a user-flow setting under no condition is set.
	default:
		report(provider.Line, "IDENTITY_PROVIDER is %s: make it a parameter (@allowed b2c, external-id) or one of 'b2c', 'external-id'", textOf(provider.Value))
		return
	}
	for _, s := range settings {
		if !slices.Contains(externalIDRefusedSettings, s.Name) {
			continue
		}
		set, err := s.SetWhen(param, "external-id")
		switch {
		case err != nil:
			report(s.Line, "%s: %v; set it for b2c only, in %s == 'b2c' ? { ... } : {}", s.Name, err, cmp.Or(param, "identityProvider"))
		case set:
			report(s.Line, "%s is set when IDENTITY_PROVIDER is external-id, whose user flow is attached to the app registration: the handler refuses to start; set it for b2c only, in %s == 'b2c' ? { ... } : {}", s.Name, cmp.Or(param, "identityProvider"))
		}
	}
}

func ruleKeyVaultReferenceIdentity(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		idType, _ := stringValue(prop(r.Body, "identity", "type"))
		if strings.Contains(idType, "UserAssigned") && prop(r.Body, "properties", "keyVaultReferenceIdentity") == nil {
			report(r.Line, "site %s has a user-assigned identity but no keyVaultReferenceIdentity: Key Vault references would use a system-assigned identity", r.Symbol)
		}
	}
}

func ruleAppInsightsEntra(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/components") {
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
func roleID(t *template, n *Node) (string, bool) {
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
			if len(args) == 2 && IsString(args[0], "Microsoft.Authorization/roleDefinitions") {
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

func ruleRoleDefinition(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		def := prop(r.Body, "properties", "roleDefinitionId")
		id, ok := roleID(t, def)
		name, known := builtInRoles[strings.ToLower(id)]
		if !ok || !known {
			report(r.Line, "role assignment %s: roleDefinitionId %q is not one of the named built-in roles (builtInRoles in infra/check/policy.go)", r.Symbol, textOf(def))
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

func ruleRolePrincipalType(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		if !IsString(prop(r.Body, "properties", "principalType"), "ServicePrincipal") {
			report(r.Line, "role assignment %s must set principalType: 'ServicePrincipal' (a new identity otherwise fails with PrincipalNotFound while it replicates)", r.Symbol)
		}
	}
}

var principalIDRE = regexp.MustCompile(`(?i)principalId`)

func ruleRoleName(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
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

func ruleRolesBeforeApp(s *Set, t *template, report reporter) {
	var apps, grants []*module
	for _, m := range t.Modules {
		if mt := s.resolve(t, m.Path); mt != nil {
			if len(mt.deployed("Microsoft.Web/sites")) > 0 {
				apps = append(apps, m)
			}
			if len(mt.deployed("Microsoft.Authorization/roleAssignments")) > 0 {
				grants = append(grants, m)
			}
		}
	}
	for _, app := range apps {
		for _, g := range grants {
			if g != app && !readsOutputOf(prop(app.Body, "params"), g.Symbol) {
				report(app.Line, "module %s deploys a site but takes no output of module %s: it may start before its identity holds those roles (Key Vault reference, host storage); pass it %s.outputs.<the identity>", app.Symbol, g.Symbol, g.Symbol)
			}
		}
	}
}

// readsOutputOf reports whether n reads symbol.outputs.NAME.
func readsOutputOf(n *Node, symbol string) bool {
	found := false
	n.walk(func(c *Node) bool {
		if c.Type == "member_expression" && len(c.Children) == 2 && c.Children[1].Text == "outputs" &&
			c.Children[0].Type == "identifier" && c.Children[0].Text == symbol {
			found = true
		}
		return !found
	})
	return found
}

func rulePurgeProtection(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
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

func ruleKeyVaultRBAC(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
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

func ruleVaultRecovery(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
		if v := prop(r.Body, "properties", "createMode"); v == nil || isLiteral(v) {
			report(r.Line, "vault %s: properties.createMode must come from a parameter ('default', or 'recover' to bring back a deleted vault of the same name)", r.Symbol)
		}
	}
}

func ruleGetSecret(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if callName(n) == "getSecret" {
			report(n.Line, "getSecret() is circular on a vault this deployment creates, and passes a secret around; use a Key Vault reference in the app setting")
		}
		return true
	})
}

func ruleLocation(_ *Set, t *template, report reporter) {
	check := func(obj *Node) {
		if v := prop(obj, "location"); v != nil && isLiteral(v) && !IsString(v, "global") {
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
// untaggable are top-level types that take no tags: extension resources
// that live on another resource.
var untaggable = []string{"Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/locks", "Microsoft.Insights/diagnosticSettings"}

func taggable(r *resource) bool {
	return strings.Count(r.Type, "/") == 1 && !slices.ContainsFunc(untaggable, func(u string) bool { return strings.EqualFold(u, r.Type) })
}

func ruleTags(_ *Set, t *template, report reporter) {
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

func ruleNaming(_ *Set, t *template, report reporter) {
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

func ruleParamDescription(_ *Set, t *template, report reporter) {
	for _, p := range t.Params {
		if p.Decorators["description"] == nil {
			report(p.Line, "parameter %s has no @description", p.Name)
		}
	}
}

var secretParamRE = regexp.MustCompile(`(?i)(secret|password|token|key)(value)?$`)

func ruleSecureParam(_ *Set, t *template, report reporter) {
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

func ruleFirstDeploySecret(s *Set, t *template, report reporter) {
	for _, p := range t.Params {
		if !p.secure() || !IsString(p.Default, "") {
			continue
		}
		for _, m := range t.Modules {
			for _, arg := range props(prop(m.Body, "params")) {
				exprs := t.expand(arg.Value)
				if !slices.ContainsFunc(exprs, func(n *Node) bool { return slices.Contains(references(n), p.Name) }) {
					continue
				}
				var fails []string
				for _, n := range exprs {
					n.walk(func(c *Node) bool {
						if callName(c) == "fail" {
							for _, e := range t.expand(c) {
								fails = append(fails, e.Text)
							}
						}
						return true
					})
				}
				if len(fails) == 0 {
					report(arg.Line, "module %s: %s may be empty, and nothing stops a first deployment that has no secret to keep; guard it: cond ? %s : fail('... names the variable to set ...')", m.Symbol, p.Name, p.Name)
					continue
				}
				for _, env := range s.envNames(t, p.Name) {
					if !strings.Contains(strings.Join(fails, "\n"), env) {
						report(arg.Line, "module %s: the fail() for an empty %s does not name %s, the variable the parameter files read it from", m.Symbol, p.Name, env)
					}
				}
			}
		}
	}
}

// envNames lists the environment variables that the set's parameter files
// for t read parameter name from (readEnvironmentVariable('NAME', ...)).
func (s *Set) envNames(t *template, name string) []string {
	var out []string
	for _, path := range s.order {
		pf := s.files[path]
		using, ok := stringValue(pf.Using)
		if !pf.IsParams || !ok || s.resolve(pf, using) != t {
			continue
		}
		for _, a := range pf.Assignments {
			if args := callArgs(a.Value); a.Name == name && callName(a.Value) == "readEnvironmentVariable" && len(args) > 0 {
				if env, ok := stringValue(args[0]); ok && !slices.Contains(out, env) {
					out = append(out, env)
				}
			}
		}
	}
	return out
}

func ruleSecureOutput(_ *Set, t *template, report reporter) {
	for _, o := range t.Outputs {
		for _, ref := range references(o.Value) {
			if p := t.param(ref); p != nil && p.secure() {
				report(o.Line, "output %s exposes the @secure() parameter %s", o.Name, ref)
			}
		}
	}
}

func ruleDependsOn(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if n.Type == "object_property" && len(n.Children) > 1 && n.Children[0].Text == "dependsOn" {
			report(n.Line, "dependsOn: reference the resource symbolically instead")
		}
		return true
	})
}

func ruleUnused(_ *Set, t *template, report reporter) {
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

func ruleCycle(_ *Set, t *template, report reporter) {
	line := map[string]int{}
	body := map[string]*Node{}
	for _, r := range t.Resources {
		if r.Parent == nil {
			line[r.Symbol], body[r.Symbol] = r.Line, r.Body
		}
	}
	for _, m := range t.Modules {
		line[m.Symbol], body[m.Symbol] = m.Line, m.Body
	}
	for name, v := range t.Vars {
		line[name], body[name] = v.Line, v
	}
	deps := map[string][]string{}
	var read func(sym string, n *Node)
	read = func(sym string, n *Node) {
		switch {
		case n == nil || n.Type == "resource_declaration": // a nested resource may name its parent
		case n.Type == "object_property" && len(n.Children) >= 2: // the value, not the key
			read(sym, n.last())
		case n.Type == "identifier":
			if body[n.Text] != nil && !slices.Contains(deps[sym], n.Text) {
				deps[sym] = append(deps[sym], n.Text)
			}
		default:
			for _, c := range n.Children {
				read(sym, c)
			}
		}
	}
	for sym, b := range body {
		read(sym, b)
	}
	// Depth-first; a symbol met again on the current path closes a cycle.
	state := map[string]int{} // 1: on the path, 2: done
	var path []string
	var visit func(sym string)
	visit = func(sym string) {
		state[sym] = 1
		path = append(path, sym)
		for _, d := range deps[sym] {
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				cycle := append(slices.Clone(path[slices.Index(path, d):]), d)
				report(line[d], "%s: a cycle, which Bicep rejects (BCP080)", strings.Join(cycle, " -> "))
			}
		}
		path = path[:len(path)-1]
		state[sym] = 2
	}
	syms := make([]string, 0, len(body))
	for sym := range body {
		syms = append(syms, sym)
	}
	slices.Sort(syms)
	for _, sym := range syms {
		if state[sym] == 0 {
			visit(sym)
		}
	}
}

func ruleModuleContract(s *Set, t *template, report reporter) {
	mods := map[string]*template{}
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

func ruleParamFile(s *Set, t *template, report reporter) {
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
			if callName(a.Value) != "readEnvironmentVariable" || len(args) == 0 || (len(args) > 1 && !IsString(args[1], "")) {
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
func checkAllowed(p *param, a *assignment, report reporter) {
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

// ref is how the template names r in an expression: its symbol, with its
// parents' for a nested resource (storage::tableService).
func (r *resource) ref() string {
	if r.Parent == nil {
		return r.Symbol
	}
	return r.Parent.ref() + "::" + r.Symbol
}

// scopedTo lists the deployed resources of type typ whose scope is r.
func (t *template) scopedTo(typ string, r *resource) []*resource {
	var out []*resource
	for _, e := range t.deployed(typ) {
		if scope := prop(e.Body, "scope"); scope != nil && scope.Text == r.ref() {
			out = append(out, e)
		}
	}
	return out
}

// composed lists the templates t's modules deploy, with the module.
func (s *Set) composed(t *template) (mods []*module, templates []*template) {
	for _, m := range t.Modules {
		if mt := s.resolve(t, m.Path); mt != nil {
			mods, templates = append(mods, m), append(templates, mt)
		}
	}
	return mods, templates
}

// diagnosed are the types whose logs must reach the workspace.
var diagnosed = []string{"Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts/tableServices"}

func ruleDiagnosticSettings(s *Set, t *template, report reporter) {
	mods, templates := s.composed(t)
	for i, mt := range templates {
		for _, typ := range diagnosed {
			for _, r := range mt.deployed(typ) {
				ok := false
				for _, d := range mt.scopedTo("Microsoft.Insights/diagnosticSettings", r) {
					logs := prop(d.Body, "properties", "logs")
					if prop(d.Body, "properties", "workspaceId") != nil && logs != nil && logs.Type == "array" && len(logs.Children) > 0 {
						ok = true
					}
				}
				if !ok {
					report(mods[i].Line, "module %s: %s (%s) sends no logs to the workspace: add a Microsoft.Insights/diagnosticSettings with scope: %s, properties.workspaceId and logs", mods[i].Symbol, r.ref(), r.Type, r.ref())
				}
			}
		}
	}
}

// nonEmpty reports whether n can hold something: not missing, not the
// literal [] or {}.
func nonEmpty(n *Node) bool {
	return n != nil && !((n.Type == "array" || n.Type == "object") && len(n.Children) == 0)
}

func ruleAlertAction(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/metricAlerts") {
		if !nonEmpty(prop(r.Body, "properties", "actions")) {
			report(r.Line, "metric alert %s notifies nobody: set properties.actions to [{ actionGroupId: ... }]", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Insights/scheduledQueryRules") {
		if !nonEmpty(prop(r.Body, "properties", "actions", "actionGroups")) {
			report(r.Line, "log alert %s notifies nobody: set properties.actions.actionGroups", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.EventGrid/systemTopics/eventSubscriptions") {
		dest := prop(r.Body, "properties", "destination")
		if IsString(prop(dest, "endpointType"), "MonitorAlert") && !nonEmpty(prop(dest, "properties", "actionGroups")) {
			report(r.Line, "event subscription %s raises alerts that notify nobody: set destination.properties.actionGroups", r.Symbol)
		}
	}
	receivers := []string{"emailReceivers", "smsReceivers", "voiceReceivers", "webhookReceivers", "azureAppPushReceivers", "armRoleReceivers", "logicAppReceivers", "azureFunctionReceivers", "automationRunbookReceivers", "itsmReceivers", "eventHubReceivers"}
	for _, r := range t.deployed("Microsoft.Insights/actionGroups") {
		if !slices.ContainsFunc(receivers, func(k string) bool { return nonEmpty(prop(r.Body, "properties", k)) }) {
			report(r.Line, "action group %s has no receiver: it pages nobody", r.Symbol)
		}
	}
}

// The tables of Application Insights' two schemas: the component's own
// (classic) and the workspace's, as a workspace-based component's data
// appears in Log Analytics.
var (
	componentTables = []string{"traces", "requests", "dependencies", "exceptions", "customEvents", "customMetrics", "pageViews", "availabilityResults", "browserTimings", "performanceCounters"}
	workspaceTables = []string{"AppTraces", "AppRequests", "AppDependencies", "AppExceptions", "AppEvents", "AppMetrics", "AppPageViews", "AppAvailabilityResults", "AppBrowserTimings", "AppPerformanceCounters"}
	tableRefRE      = regexp.MustCompile(`(?m)(?:^|[\s(|,;])([A-Za-z]+)\s*(?:\||$)`)
)

// queryTables lists the schema tables a KQL query names as a source:
// a table name that starts a pipeline.
func queryTables(query string) []string {
	var out []string
	for _, m := range tableRefRE.FindAllStringSubmatch(query, -1) {
		if slices.Contains(componentTables, m[1]) || slices.Contains(workspaceTables, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// queryText is the literal text of a query expression: a string, a
// variable holding one, or replace()/format() over one.
func queryText(t *template, n *Node) (string, bool) {
	n = t.resolveVar(n)
	if v, ok := stringValue(n); ok {
		return v, true
	}
	if name := callName(n); name == "replace" || name == "format" {
		if args := callArgs(n); len(args) > 0 {
			return queryText(t, args[0])
		}
	}
	return "", false
}

func ruleLogAlertSchema(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/scheduledQueryRules") {
		var scopeTypes []string
		if scopes := prop(r.Body, "properties", "scopes"); scopes != nil {
			for _, sc := range scopes.Children {
				for _, other := range t.Resources {
					if sc.Text == other.Symbol+".id" {
						scopeTypes = append(scopeTypes, other.Type)
					}
				}
			}
		}
		conds := prop(r.Body, "properties", "criteria", "allOf")
		if conds == nil {
			continue
		}
		for _, c := range conds.Children {
			q, ok := queryText(t, prop(c, "query"))
			if !ok {
				continue
			}
			for _, table := range queryTables(q) {
				for _, typ := range scopeTypes {
					switch {
					case strings.EqualFold(typ, "Microsoft.Insights/components") && slices.Contains(workspaceTables, table):
						report(r.Line, "log alert %s is scoped to Application Insights but reads %s, a workspace table: read %s (or scope the rule to the workspace)", r.Symbol, table, componentTables[slices.Index(workspaceTables, table)])
					case strings.EqualFold(typ, "Microsoft.OperationalInsights/workspaces") && slices.Contains(componentTables, table):
						report(r.Line, "log alert %s is scoped to a workspace but reads %s, Application Insights' own table: read %s (or scope the rule to the component)", r.Symbol, table, workspaceTables[slices.Index(componentTables, table)])
					}
				}
			}
		}
	}
}

func ruleWebtestLink(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/webtests") {
		linked := false
		prop(r.Body, "tags").walk(func(n *Node) bool {
			if n.Type == "object_property" && len(n.Children) >= 2 && strings.HasPrefix(stringPrefix(n.Children[0]), "hidden-link:") && IsString(n.last(), "Resource") {
				linked = true
			}
			return !linked
		})
		if !linked {
			report(r.Line, "availability test %s has no tag 'hidden-link:${<component>.id}': 'Resource'; the component does not show it, nor alert on it", r.Symbol)
		}
	}
}

func ruleSecretNearExpiry(_ *Set, t *template, report reporter) {
	subscribed := false
	for _, r := range t.deployed("Microsoft.EventGrid/systemTopics/eventSubscriptions") {
		types := prop(r.Body, "properties", "filter", "includedEventTypes")
		if types == nil || !slices.ContainsFunc(types.Children, func(n *Node) bool { return IsString(n, "Microsoft.KeyVault.SecretNearExpiry") }) {
			continue
		}
		subscribed = true
		if IsString(prop(r.Body, "properties", "destination", "endpointType"), "MonitorAlert") && !IsString(prop(r.Body, "properties", "eventDeliverySchema"), "CloudEventSchemaV1_0") {
			report(r.Line, "event subscription %s delivers to Azure Monitor alerts, which take only eventDeliverySchema: 'CloudEventSchemaV1_0'", r.Symbol)
		}
	}
	if subscribed {
		return
	}
	for _, r := range t.deployed("Microsoft.KeyVault/vaults/secrets") {
		if prop(r.Body, "properties", "attributes", "exp") != nil {
			report(r.Line, "secret %s records an expiry that nobody is told about: subscribe to Microsoft.KeyVault.SecretNearExpiry (Event Grid system topic on the vault, destination an Azure Monitor alert with the action group)", r.Symbol)
		}
	}
}

// atLeast reports whether n is a number literal of at least min.
func atLeast(n *Node, min int) bool {
	if n == nil || n.Type != "number" {
		return false
	}
	v, err := strconv.Atoi(n.Text)
	return err == nil && v >= min
}

// locked are the types that hold what a deletion would lose.
var locked = []string{"Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"}

func ruleResourceLock(s *Set, t *template, report reporter) {
	mods, templates := s.composed(t)
	for i, mt := range templates {
		for _, typ := range locked {
			for _, r := range mt.deployed(typ) {
				if !slices.ContainsFunc(mt.scopedTo("Microsoft.Authorization/locks", r), func(l *resource) bool {
					return IsString(prop(l.Body, "properties", "level"), "CanNotDelete")
				}) {
					report(mods[i].Line, "module %s: %s (%s) can be deleted with everything in it: add a Microsoft.Authorization/locks with scope: %s and level 'CanNotDelete' (conditional on a parameter for production)", mods[i].Symbol, r.ref(), r.Type, r.ref())
				}
			}
		}
	}
}

func ruleZoneRedundancy(_ *Set, t *template, report reporter) {
	if !t.IsParams {
		return
	}
	values := map[string]*assignment{}
	for _, a := range t.Assignments {
		values[a.Name] = a
	}
	zr, ok := values["zoneRedundant"]
	if !ok || !isBool(zr.Value, true) {
		return
	}
	if sku, ok := values["storageSku"]; !ok || !IsString(sku.Value, "Standard_ZRS") {
		report(zr.Line, "zoneRedundant = true needs storageSku = 'Standard_ZRS': Flex Consumption zone redundancy requires zone-redundant storage")
	}
	if n, ok := values["alwaysReadyInstances"]; !ok || !atLeast(n.Value, 2) {
		report(zr.Line, "zoneRedundant = true keeps at least 2 always-ready instances, billed: set alwaysReadyInstances = 2 or more so the file says what it costs")
	}
}

// subnets lists the subnets a template declares: inline in a virtual
// network's properties.subnets, or as subnets resources.
func (t *template) subnets() []*Node {
	var out []*Node
	for _, r := range t.deployed("Microsoft.Network/virtualNetworks") {
		if list := prop(r.Body, "properties", "subnets"); list != nil && list.Type == "array" {
			out = append(out, list.Children...)
		}
	}
	for _, r := range t.deployed("Microsoft.Network/virtualNetworks/subnets") {
		out = append(out, r.Body)
	}
	return out
}

var prefixLenRE = regexp.MustCompile(`/(\d+)$`)

// prefixLength is a subnet's prefix length when it can be read: a literal
// CIDR or cidrSubnet(range, length, index).
func prefixLength(t *template, n *Node) (int, bool) {
	n = t.resolveVar(n)
	if v, ok := stringValue(n); ok {
		if m := prefixLenRE.FindStringSubmatch(v); m != nil {
			l, err := strconv.Atoi(m[1])
			return l, err == nil
		}
	}
	if callName(n) == "cidrSubnet" {
		if args := callArgs(n); len(args) == 3 && args[1].Type == "number" {
			l, err := strconv.Atoi(args[1].Text)
			return l, err == nil
		}
	}
	return 0, false
}

func ruleFlexSubnet(_ *Set, t *template, report reporter) {
	for _, sn := range t.subnets() {
		name, _ := stringValue(t.resolveVar(prop(sn, "name")))
		delegations := prop(sn, "properties", "delegations")
		if delegations == nil {
			continue
		}
		for _, d := range delegations.Children {
			service := prop(d, "properties", "serviceName")
			switch {
			case IsString(service, "Microsoft.Web/serverFarms"):
				report(d.Line, "subnet %s is delegated to Microsoft.Web/serverFarms, the Premium and Dedicated plans' delegation: a Flex Consumption app integrates only with a subnet delegated to Microsoft.App/environments", name)
			case IsString(service, "Microsoft.App/environments"):
				if strings.Contains(name, "_") {
					report(sn.Line, "subnet %s: Flex Consumption does not support subnet names with '_'", name)
				}
				if l, ok := prefixLength(t, prop(sn, "properties", "addressPrefix")); ok && l > 27 {
					report(sn.Line, "subnet %s is a /%d: Flex Consumption needs a /27 or larger (its outbound gateways take up to 27 addresses)", name, l)
				}
			}
		}
	}
}

// parentOf reports whether child names r as its parent: nested in it, or
// parent: r (or r[i], for a loop).
func parentOf(child, r *resource) bool {
	if child.Parent == r {
		return true
	}
	p := prop(child.Body, "parent")
	return p != nil && (p.Text == r.Symbol || strings.HasPrefix(p.Text, r.Symbol+"["))
}

func rulePrivateEndpointDNS(_ *Set, t *template, report reporter) {
	pairs := []struct{ parent, child, what, missing string }{
		{"Microsoft.Network/privateEndpoints", "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "private endpoint", "has no private DNS zone group: no A record in the service's privatelink zone, so its name resolves to the public address"},
		{"Microsoft.Network/privateDnsZones", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "private DNS zone", "is linked to no virtual network: nothing in the network resolves through it"},
	}
	for _, p := range pairs {
		for _, r := range t.deployed(p.parent) {
			if !slices.ContainsFunc(t.deployed(p.child), func(c *resource) bool { return parentOf(c, r) }) {
				report(r.Line, "%s %s %s", p.what, r.Symbol, p.missing)
			}
		}
	}
}

func ruleVnetLockdown(_ *Set, t *template, report reporter) {
	if t.param("vnetEnabled") == nil {
		return
	}
	follows := func(n *Node) bool {
		return slices.ContainsFunc(t.expand(n), func(e *Node) bool { return slices.Contains(references(e), "vnetEnabled") })
	}
	for _, typ := range []string{"Microsoft.Storage/storageAccounts", "Microsoft.KeyVault/vaults"} {
		for _, r := range t.deployed(typ) {
			if v := prop(r.Body, "properties", "publicNetworkAccess"); v == nil || !follows(v) {
				report(r.Line, "%s: properties.publicNetworkAccess must follow vnetEnabled (vnetEnabled ? 'Disabled' : 'Enabled'): with the private network on, the public endpoint stays open", r.Symbol)
			}
			if v := prop(r.Body, "properties", "networkAcls", "defaultAction"); v == nil || !follows(v) {
				report(r.Line, "%s: properties.networkAcls.defaultAction must follow vnetEnabled (vnetEnabled ? 'Deny' : 'Allow')", r.Symbol)
			}
		}
	}
}
