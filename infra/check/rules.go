package check

import (
	"fmt"
	"sort"
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
	{"azd-service-tag", "the azd-service-name tag on anything but a site, or in the tags a module is passed (azd before 1.23.4 fails when two resources carry it)", ruleAzdServiceTag},
	{"key-vault-reference-identity", "a site with a user-assigned identity but no keyVaultReferenceIdentity", ruleKeyVaultReferenceIdentity},
	{"app-insights-entra", "Application Insights with local auth or without a workspace; an authentication string without Authorization=AAD", ruleAppInsightsEntra},
	{"role-definition", "a role outside builtInRoles, or a role ID without a comment naming the role", ruleRoleDefinition},
	{"role-principal-type", "a role assignment without principalType: 'ServicePrincipal'", ruleRolePrincipalType},
	{"roles-before-app", "a module deploying a site that takes no output of the module granting roles (it could start before its identity holds them)", ruleRolesBeforeApp},
	{"role-name", "a role assignment not named guid(scope.id, principal ID, role), or over the principalId of an identity the same file creates (BCP120)", ruleRoleName},
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
	{"conditional-access", "an access to a module or resource deployed under if (...) other than name!.x in the branch of a ternary on the same condition or in a resource deployed on it, and a scope: or parent: on it from a resource deployed without that condition (BCP318: it may be null; .? still references a deployment that may not exist)", ruleConditionalAccess},
	{"unused-symbol", "a parameter or variable nothing reads", ruleUnused},
	{"cycle", "a module, resource or variable that depends on itself, directly or through others (Bicep rejects the cycle)", ruleCycle},
	{"diagnostic-settings", "a module deploying a vault or a table service that sends none of its logs to a Log Analytics workspace (a diagnostic setting scoped to it, with workspaceId and logs)", ruleDiagnosticSettings},
	{"alert-action", "an alert rule (metric, log, Event Grid to Azure Monitor) that notifies no action group; an action group with no receiver", ruleAlertAction},
	{"flex-metric", "a metric alert criterion without metricNamespace, or on a Microsoft.Web/sites metric Flex Consumption does not document (flexSiteMetrics: Http5xx is not one)", ruleFlexMetric},
	{"log-alert-schema", "a log alert whose query reads the other schema than its scope: Application Insights' traces/requests/... from a workspace, AppTraces/AppRequests/... from a component", ruleLogAlertSchema},
	{"webtest-link", "an availability test without the hidden-link:<component ID> tag that ties it to its Application Insights component", ruleWebtestLink},
	{"secret-near-expiry", "a vault secret with an expiry but no Event Grid subscription to Microsoft.KeyVault.SecretNearExpiry; one to Azure Monitor alerts not in the CloudEvents v1.0 schema, the only one that destination takes", ruleSecretNearExpiry},
	{"resource-lock", "a module deploying a vault or a storage account with no CanNotDelete lock scoped to it (it may be conditional: production only)", ruleResourceLock},
	{"zone-redundancy", "a parameter file that turns zoneRedundant on with storage other than Standard_ZRS, or fewer than 2 always-ready instances", ruleZoneRedundancy},
	{"flex-subnet", "a subnet delegated to Microsoft.Web/serverFarms (Flex Consumption's delegation is Microsoft.App/environments); a Flex subnet smaller than /27, with '_' in its name, or without a NAT gateway (a fixed egress IP; no default outbound access)", ruleFlexSubnet},
	{"private-endpoint-dns", "a private endpoint without a private DNS zone group; a private DNS zone linked to no virtual network (the service's name keeps resolving to its public address)", rulePrivateEndpointDNS},
	{"private-dns-zone-cloud", "a private DNS zone name written out ('privatelink.…' with no environment() in it): it is another name in a sovereign cloud", rulePrivateDNSZoneCloud},
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
