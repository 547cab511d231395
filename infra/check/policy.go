package check

import "slices"

// The lists the rules compare against. A change here is a change of policy:
// give the reason beside the line.

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
	"Microsoft.Authorization/locks":                             "2020-05-01",
	"Microsoft.Network/virtualNetworks":                         "2024-05-01",
	"Microsoft.Network/natGateways":                             "2024-05-01",
	"Microsoft.Network/publicIPAddresses":                       "2024-05-01",
	"Microsoft.Network/privateEndpoints":                        "2024-05-01",
	"Microsoft.Network/privateEndpoints/privateDnsZoneGroups":   "2024-05-01",
	"Microsoft.Network/privateDnsZones":                         "2024-06-01",
	"Microsoft.Network/privateDnsZones/virtualNetworkLinks":     "2024-06-01",
	// The newest version of diagnostic settings, a preview one.
	"Microsoft.Insights/diagnosticSettings":  "2021-05-01-preview",
	"Microsoft.Insights/actionGroups":        "2023-01-01",
	"Microsoft.Insights/metricAlerts":        "2018-03-01",
	"Microsoft.Insights/scheduledQueryRules": "2023-12-01",
	"Microsoft.Insights/webtests":            "2022-06-15",
	// A GA version whose event subscriptions know the MonitorAlert destination.
	"Microsoft.EventGrid/systemTopics":                    "2025-02-15",
	"Microsoft.EventGrid/systemTopics/eventSubscriptions": "2025-02-15",
}

// builtInRoles are the only role definitions the app's identity may be
// granted: ID → the built-in role's name (the comment beside the ID must
// name it). No queue role: nothing uses queues (HTTP and timer triggers
// only; the Flex deployment package is a blob).
var builtInRoles = map[string]string{
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}

// Flex Consumption's documented deprecations: "Flex Consumption plan
// deprecations" in the Functions app settings reference,
// https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
// ("these site properties and application settings are deprecated and
// shouldn't be used when creating function app resources"). The service
// rejects some outright: a site with siteConfig.ftpsState fails with 400
// "... site configuration properties (Site.SiteConfig.FtpsState, ...) for
// Flex Consumption sites is invalid".

// flexRejectedSettings are the app settings of that list (the runtime,
// scale and deployment live in functionAppConfig), plus two legacy ones
// that carry a storage or instrumentation key. (AzureWebJobsStorage itself
// is the host-storage-identity rule's.)
var flexRejectedSettings = []string{
	"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION", "FUNCTIONS_EXTENSION_VERSION",
	"FUNCTIONS_MAX_HTTP_CONCURRENCY", "FUNCTIONS_WORKER_PROCESS_COUNT", "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
	"SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD",
	"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTOVERVNET",
	"WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_NODE_DEFAULT_VERSION",
	"WEBSITE_DNS_SERVER", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_VNET_ROUTE_ALL",
	// Not in the list: legacy, and each carries a key.
	"AzureWebJobsDashboard", "APPINSIGHTS_INSTRUMENTATIONKEY",
}

// FlexRejectedSettings returns the app settings a Flex Consumption site
// must not set (flexRejectedSettings), for checks outside this package.
func FlexRejectedSettings() []string { return slices.Clone(flexRejectedSettings) }

// flexUnsupportedSiteProperties are the site properties of that list, by
// their ARM names (compared case-insensitively). The list writes some as
// properties.X that ARM keeps in properties.siteConfig (ftpsState,
// alwaysOn, linuxFxVersion, ...), so the rule looks in both.
var flexUnsupportedSiteProperties = []string{
	"alwaysOn", "containerSize", "dnsConfiguration", "ftpsState",
	"isReserved", "reserved", // the list's isReserved is the site's properties.reserved
	"isXenon", "javaVersion", "linuxFxVersion", "netFrameworkVersion", "powerShellVersion",
	"functionAppScaleLimit", "preWarmedInstanceCount", "use32BitWorkerProcess",
	"vnetBackupRestoreEnabled", "vnetContentShareEnabled", "vnetImagePullEnabled", "vnetRouteAllEnabled",
	"windowsFxVersion",
}

// externalIDRefusedSettings are the user-flow settings of a B2C tenant. An
// External ID tenant has one user flow, attached to the app registration,
// and the handler refuses to start with any of these set when
// IDENTITY_PROVIDER is external-id (auth.Config's validation), so app
// settings set them for b2c only.
var externalIDRefusedSettings = []string{"B2C_SIGNUP_SIGNIN_POLICY", "B2C_PROFILE_EDIT_POLICY", "B2C_PASSWORD_RESET_POLICY"}

// ExternalIDRefusedSettings is externalIDRefusedSettings, for the tests
// that hold it to the handler.
func ExternalIDRefusedSettings() []string { return slices.Clone(externalIDRefusedSettings) }

// notSecretSettings look like secrets by name but are not.
var notSecretSettings = map[string]string{
	// Holds only the ingestion endpoint and instrumentation key; with the
	// component's local auth disabled the key grants nothing.
	"APPLICATIONINSIGHTS_CONNECTION_STRING": "local auth disabled",
}

// secretWords mark an app setting name as a secret when the name ends with
// one (B2C_CLIENT_SECRET, API_KEY, X_CONNECTION_STRING; not
// B2C_PASSWORD_RESET_POLICY).
var secretWords = map[string]bool{"SECRET": true, "PASSWORD": true, "PWD": true, "TOKEN": true, "KEY": true, "APIKEY": true, "SAS": true, "CONNECTIONSTRING": true}
