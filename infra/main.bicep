// b2c-functions-go: the Go custom handler that signs people in with Azure AD
// B2C or Microsoft Entra External ID (identityProvider), on Azure Functions
// Flex Consumption, with its sessions in Table Storage. Deploy into a
// resource group:
//
//   az deployment group create -g <group> -f infra/main.bicep -p infra/dev.bicepparam
//
// Modules, one per concern:
//   identity     the user-assigned identity the app runs as
//   monitoring   Log Analytics, Application Insights (Entra ID ingestion only)
//                and the action group every alert notifies
//   storage      host storage, deployment container and the sessions table (no
//                shared keys); table logs to the workspace
//   keyvault     the B2C client secret (RBAC vault); audit log to the workspace;
//                an alert 30 days before the secret expires (Event Grid)
//   functionapp  Flex Consumption plan, the app and its app settings
//   roles        every role the identity holds, scoped per resource; the app
//                takes its identity from here, so it waits for them
//   network      vnetEnabled only: the virtual network, private endpoints and
//                DNS zones for blob, queue, table and the vault
//   alerts       5xx, sign-in failures by kind, an availability test of /healthz
targetScope = 'resourceGroup'

// ---- Environment ----

@description('Name of the environment (dev, prod, ...): the azd-env-name tag on every resource.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of every resource; defaults to the resource group\'s. Flex Consumption regions: az functionapp list-flexconsumption-locations.')
param location string = resourceGroup().location

@description('Extra tags for every resource (cost center, owner, ...).')
param extraTags object = {}

// ---- The tenant, B2C or External ID, mirrored from internal/config ----

@description('IDENTITY_PROVIDER: the kind of tenant. b2c: Azure AD B2C, its user flows named by the b2c*Policy parameters. external-id: Microsoft Entra External ID, its one user flow attached to the app registration, so no policy parameter, and tenantId required. The settings keep their B2C_ names for both.')
@allowed([
  'b2c'
  'external-id'
])
param identityProvider string = 'b2c'

@description('B2C_TENANT_NAME: the tenant name, contoso in contoso.onmicrosoft.com (B2C), or the External ID tenant\'s subdomain, contoso in contoso.ciamlogin.com.')
@minLength(1)
param b2cTenantName string

@description('B2C_TENANT_HOST: host serving the sign-in pages; empty means {tenant}.b2clogin.com for b2c, {tenant}.ciamlogin.com for external-id. Set it for a custom (URL) domain.')
param b2cTenantHost string = ''

@description('B2C_TENANT_ID: the tenant ID, a GUID (Directory (tenant) ID on the app registration\'s Overview). Required for external-id, whose authority is https://{host}/{tenant ID}; for b2c optional, selecting the tenant-ID authority form https://{host}/{tenant ID}/{policy} of custom domains.')
param tenantId string = ''

@description('B2C_SIGNUP_SIGNIN_POLICY (b2c only): the sign-up/sign-in user flow; empty means B2C_1_signupsignin1. Must be empty for external-id.')
param b2cSignUpSignInPolicy string = ''

@description('B2C_PROFILE_EDIT_POLICY (b2c only): the profile-editing user flow; empty hides Edit profile. Must be empty for external-id.')
param b2cProfileEditPolicy string = ''

@description('B2C_PASSWORD_RESET_POLICY (b2c only): the password-reset user flow; empty when the sign-in flow embeds password reset. Must be empty for external-id.')
param b2cPasswordResetPolicy string = ''

@description('B2C_POLICY_CLAIM (b2c only, not set for external-id): the claim naming the user flow in ID tokens, tfp or acr; empty accepts either; none for custom policies that emit neither.')
@allowed([
  ''
  'tfp'
  'acr'
  'none'
])
param b2cPolicyClaim string = ''

@description('B2C_CLIENT_ID: the application (client) ID of the app registration.')
@minLength(1)
param b2cClientId string

@description('The B2C client secret, stored in Key Vault and read by the app through a Key Vault reference. Required on the first deployment; empty later keeps the version in the vault when b2cClientSecretInVault is true.')
@secure()
param b2cClientSecret string = ''

@description('The vault already holds the B2C client secret (a redeployment, a recovered vault): an empty b2cClientSecret keeps it. False: an empty b2cClientSecret stops the deployment before anything is deployed.')
param b2cClientSecretInVault bool = false

@description('Expiry of that client secret as shown in B2C, ISO 8601 UTC (2027-05-01T00:00:00Z); empty for none. Recorded on the Key Vault secret, which then raises the near-expiry alert 30 days ahead.')
param b2cClientSecretExpiresOn string = ''

@description('PUBLIC_BASE_URL: the public origin (https://login.example.com) when a custom domain fronts the app; empty uses https:// plus the app\'s default host name.')
param publicBaseUrl string = ''

@description('POST_LOGOUT_REDIRECT_URI: where the tenant sends the browser after sign-out; empty means PUBLIC_BASE_URL plus /. Register it as a redirect URI of the app (the postLogoutRedirectUri output).')
param postLogoutRedirectUri string = ''

@description('API_ENDPOINT: URL of the protected API that /graphcall calls; empty for none.')
param apiEndpoint string = ''

@description('API_SCOPES: space-separated scopes of that API; required when API_ENDPOINT is set.')
param apiScopes string = ''

// ---- Sessions ----

@description('SESSION_TABLE_NAME: table holding sessions and token caches (3-63 letters and digits).')
@minLength(3)
@maxLength(63)
param sessionTableName string = 'sessions'

@description('SESSION_IDLE_TIMEOUT: a session unused this long ends (Go duration).')
param sessionIdleTimeout string = '1h'

@description('SESSION_ABSOLUTE_TIMEOUT: a session ends this long after sign-in (Go duration).')
param sessionAbsoluteTimeout string = '12h'

@description('SWEEP_SCHEDULE: NCRONTAB schedule (six fields, seconds first) of the timer that deletes expired sessions.')
param sweepSchedule string = '0 */15 * * * *'

@description('LOG_LEVEL of the handler.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

// ---- Capacity and protection ----

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to (a cost ceiling).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the HTTP functions; 0 scales to zero (cold start on the first request), 1 or more are billed while idle.')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int = 0

@description('Storage replication. A zone-redundant plan needs Standard_ZRS.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSku string = 'Standard_LRS'

@description('Zone-redundant Flex Consumption plan: instances spread over the region\'s availability zones. Needs storageSku Standard_ZRS and a region that offers it (az functionapp list-flexconsumption-locations --zone-redundant=true); the platform then keeps at least 2 always-ready instances per scale group (2 for http and 2 for the sweep timer: 4 billed, docs/deploy.md).')
param zoneRedundant bool = false

@description('Private network: the app integrates with a new virtual network and reaches storage (blob, queue, table) and Key Vault through private endpoints with private DNS zones; their public network access is off. The app stays public. Needs the Microsoft.App resource provider registered.')
param vnetEnabled bool = false

@description('Address space of that virtual network, /26 or larger (two /27 subnets: the app\'s and the private endpoints\').')
param vnetAddressPrefix string = '10.40.0.0/26'

@description('CanNotDelete locks on the Key Vault and the storage account (sessions, host storage, the deployment package). Deleting them, or their resource group, then needs the locks removed first; creating locks needs Owner or User Access Administrator.')
param lockResources bool = false

@description('Name of the Key Vault (3-24 letters, digits and dashes, unique in Azure); empty: kv-<token>, the same for every deployment to this subscription, group and region. Set another name when a deleted vault still holds that one.')
@maxLength(24)
param keyVaultName string = ''

@description('Recover the soft-deleted vault of that name (createMode recover) instead of creating one: after the vault or its resource group was deleted. Only a deleted vault can be recovered; leave it false otherwise.')
param recoverKeyVault bool = false

@description('Key Vault purge protection. Irreversible once on; keep it on in production.')
param enablePurgeProtection bool = true

@description('Days a deleted vault or secret stays recoverable (7 to 90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Days Log Analytics keeps data (30 to 730).')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// ---- Alerts ----

@description('ALERT_EMAIL: where the alerts (5xx, sign-in failures, /healthz down, the B2C client secret near expiry) are emailed; empty: they only show in the portal.')
param alertEmail string = ''

@description('5xx answers within 5 minutes above which the app pages.')
@minValue(0)
param serverErrorThreshold int = 5

@description('Sign-in failures of one kind within 15 minutes from which the app pages; a misconfiguration pages at the first.')
@minValue(1)
param signInFailureThreshold int = 20

// ---- Names and tags ----

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, location))
var tags = union(extraTags, { 'azd-env-name': environmentName })
var functionAppName = 'func-${resourceToken}'
var clientSecretName = 'b2c-client-secret'

// No secret to store and none stored: stop here, naming the variable to set,
// instead of pointing the app's Key Vault reference at a secret that does
// not exist. The expression reads parameters only, so it fails when the
// template is validated, before any resource is deployed.
var b2cClientSecretChecked = !empty(b2cClientSecret) || b2cClientSecretInVault ? b2cClientSecret : fail('B2C_CLIENT_SECRET is empty and the vault holds no B2C client secret yet: export B2C_CLIENT_SECRET for the first deployment. Later deployments without it need B2C_CLIENT_SECRET_IN_VAULT=true to keep the stored secret.')

var externalId = identityProvider == 'external-id'

// External ID: every authority carries the tenant ID
// (https://{host}/{tenant ID}), and the handler does not start without it.
// Like the secret's check, this reads parameters only and fails at
// validation.
var tenantIdChecked = externalId && empty(tenantId) ? fail('B2C_TENANT_ID is empty: IDENTITY_PROVIDER=external-id needs the External ID tenant\'s ID (a GUID: Directory (tenant) ID on the app registration\'s Overview): export B2C_TENANT_ID.') : tenantId

// External ID attaches its one user flow to the app registration, and the
// handler refuses a policy setting there: stop, naming them, instead of
// deploying an app that cannot start. B2C keeps its default sign-in flow.
var b2cPolicies = !externalId ? {
  signUpSignIn: empty(b2cSignUpSignInPolicy) ? 'B2C_1_signupsignin1' : b2cSignUpSignInPolicy
  profileEdit: b2cProfileEditPolicy
  passwordReset: b2cPasswordResetPolicy
} : (empty('${b2cSignUpSignInPolicy}${b2cProfileEditPolicy}${b2cPasswordResetPolicy}') ? { signUpSignIn: '', profileEdit: '', passwordReset: '' } : fail('B2C_SIGNUP_SIGNIN_POLICY, B2C_PROFILE_EDIT_POLICY and B2C_PASSWORD_RESET_POLICY must be unset for IDENTITY_PROVIDER=external-id: an External ID tenant runs the user flow attached to the app registration (User flows, the flow, Applications). Unset them and deploy again.'))

// The host serving the sign-in pages, written out per kind as the handler
// would default it, or a custom domain.
var tenantHost = empty(b2cTenantHost) ? '${b2cTenantName}.${externalId ? 'ciamlogin' : 'b2clogin'}.com' : b2cTenantHost

// A zone-redundant plan on storage that is not: the app would survive a zone
// but its host storage, deployment package and sessions would not. Zone
// redundancy for Flex Consumption requires a zone-redundant storage account
// (learn.microsoft.com/azure/azure-functions/functions-zone-redundancy).
// Fails at validation.
var storageSkuChecked = zoneRedundant && storageSku != 'Standard_ZRS' ? fail('zoneRedundant needs storageSku Standard_ZRS: Flex Consumption zone redundancy requires a zone-redundant storage account.') : storageSku

// With zone redundancy the platform keeps at least two always-ready
// instances in every scale group whatever the setting, and bills them as
// always-ready ("Reliability in Azure Functions", Flex Consumption): the
// http group and the sweep timer's own (function:sweep). Only http is
// configured; asking for two there makes that cost visible in the template.
var alwaysReadyChecked = zoneRedundant ? max(2, alwaysReadyInstances) : alwaysReadyInstances

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    actionGroupName: 'ag-${resourceToken}'
    alertEmail: alertEmail
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuChecked
    deploymentContainerName: 'app-package-${resourceToken}'
    sessionTableName: sessionTableName
    workspaceId: monitoring.outputs.workspaceId
    lock: lockResources
    vnetEnabled: vnetEnabled
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: empty(keyVaultName) ? 'kv-${resourceToken}' : keyVaultName
    createMode: recoverKeyVault ? 'recover' : 'default'
    location: location
    tags: tags
    enablePurgeProtection: enablePurgeProtection
    softDeleteRetentionInDays: softDeleteRetentionInDays
    clientSecretName: clientSecretName
    clientSecretValue: b2cClientSecretChecked
    clientSecretExpiresOn: b2cClientSecretExpiresOn
    workspaceId: monitoring.outputs.workspaceId
    actionGroupId: monitoring.outputs.actionGroupId
    lock: lockResources
    vnetEnabled: vnetEnabled
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    // azd deploys the service 'handler' (azure.yaml) to the one resource
    // tagged with its name: the site, not the plan too.
    serviceName: 'handler'
    // The identity through roles: the app waits for its role assignments.
    identityId: roles.outputs.identityId
    identityClientId: roles.outputs.identityClientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstances: alwaysReadyChecked
    zoneRedundant: zoneRedundant
    // Through the network module's output: with vnetEnabled the app waits
    // for its private endpoints and DNS records.
    subnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    clientSecretUri: keyVault.outputs.clientSecretUri
    identityProvider: identityProvider
    b2cTenantName: b2cTenantName
    b2cTenantHost: tenantHost
    tenantId: tenantIdChecked
    b2cSignUpSignInPolicy: b2cPolicies.signUpSignIn
    b2cProfileEditPolicy: b2cPolicies.profileEdit
    b2cPasswordResetPolicy: b2cPolicies.passwordReset
    b2cPolicyClaim: b2cPolicyClaim
    b2cClientId: b2cClientId
    publicBaseUrl: publicBaseUrl
    postLogoutRedirectUri: postLogoutRedirectUri
    apiEndpoint: apiEndpoint
    apiScopes: apiScopes
    sessionTableName: storage.outputs.sessionTableName
    sessionIdleTimeout: sessionIdleTimeout
    sessionAbsoluteTimeout: sessionAbsoluteTimeout
    logLevel: logLevel
    sweepSchedule: sweepSchedule
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    siteName: functionApp.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    actionGroupId: monitoring.outputs.actionGroupId
    healthUrl: '${functionApp.outputs.publicBaseUrl}/healthz'
    serverErrorThreshold: serverErrorThreshold
    signInFailureThreshold: signInFailureThreshold
  }
}

@description('Name of the function app: the target of the publish step.')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app.')
output defaultHostName string = functionApp.outputs.defaultHostName

@description('The redirect URI to register on the app registration (Web platform), in B2C or External ID.')
output redirectUri string = '${functionApp.outputs.publicBaseUrl}/getAToken'

@description('Where sign-out returns (POST_LOGOUT_REDIRECT_URI): register it as a second redirect URI of the app (Web platform).')
output postLogoutRedirectUri string = functionApp.outputs.postLogoutRedirectUri

@description('Name of the storage account (sessions table, host storage, deployment package).')
output storageAccountName string = storage.outputs.name

@description('Name of the Key Vault holding the B2C client secret.')
output keyVaultName string = keyVault.outputs.name

@description('Name of the client secret inside that vault (for rotation).')
output keyVaultSecretName string = clientSecretName

@description('Client ID of the app\'s user-assigned identity (AZURE_CLIENT_ID).')
output identityClientId string = identity.outputs.clientId

@description('With vnetEnabled: the static public IP the app\'s outbound traffic leaves from (allow it in a downstream firewall); otherwise empty.')
output egressIpAddress string = vnetEnabled ? network!.outputs.egressIpAddress : ''
