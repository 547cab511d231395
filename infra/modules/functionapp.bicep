// The Flex Consumption plan and the function app that runs the Go custom
// handler, with exactly the app settings that the handler
// (internal/config.Settings) and the Functions host read, for either kind
// of tenant (identityProvider). The consistency test in infra/ fails when
// this list and theirs drift apart, for b2c and for external-id.
//
// App settings live in a separate sites/config 'appsettings' resource
// written after the site, because PUBLIC_BASE_URL is built from the site's
// own default host name: inside the site's own body that would be a
// self-reference, and guessing '<name>.azurewebsites.net' is wrong for apps
// created with a unique (regional) default host name.

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('The azd service deployed to the app: its azd-service-name tag, on the site alone.')
param serviceName string

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Client ID of that identity.')
param identityClientId string

@description('Name of the storage account used by the host (AzureWebJobsStorage).')
param storageAccountName string

@description('Blob endpoint of that account, with a trailing slash.')
param storageBlobEndpoint string

@description('Table endpoint of that account, with a trailing slash (SESSION_TABLE_ENDPOINT).')
param storageTableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Always-ready instances for the HTTP functions (0: scale to zero, cold starts on the first request).')
@minValue(0)
param alwaysReadyInstances int

@description('Resource ID of the subnet the app integrates with (delegated to Microsoft.App/environments); empty: no virtual network.')
param subnetId string

@description('Zone-redundant plan (needs zone-redundant storage; at least 2 always-ready instances).')
param zoneRedundant bool

@description('Versionless URI of the B2C client secret in Key Vault.')
param clientSecretUri string

@description('IDENTITY_PROVIDER: b2c (Azure AD B2C) or external-id (Microsoft Entra External ID).')
@allowed([
  'b2c'
  'external-id'
])
param identityProvider string

@description('B2C_TENANT_NAME.')
param b2cTenantName string

@description('B2C_TENANT_HOST, the host serving the sign-in pages.')
param b2cTenantHost string

@description('B2C_TENANT_ID, the tenant\'s GUID; required for external-id, optional for b2c.')
param tenantId string

@description('B2C_SIGNUP_SIGNIN_POLICY; set for b2c only.')
param b2cSignUpSignInPolicy string

@description('B2C_PROFILE_EDIT_POLICY; empty hides Edit profile; set for b2c only.')
param b2cProfileEditPolicy string

@description('B2C_PASSWORD_RESET_POLICY; empty when the sign-in flow embeds password reset; set for b2c only.')
param b2cPasswordResetPolicy string

@description('B2C_POLICY_CLAIM: tfp, acr, none, or empty for either; set for b2c only.')
param b2cPolicyClaim string

@description('POST_LOGOUT_REDIRECT_URI; empty: PUBLIC_BASE_URL plus /.')
param postLogoutRedirectUri string

@description('B2C_CLIENT_ID.')
param b2cClientId string

@description('PUBLIC_BASE_URL; empty: https:// plus the app\'s default host name.')
param publicBaseUrl string

@description('API_ENDPOINT; empty: no protected API.')
param apiEndpoint string

@description('API_SCOPES, space-separated.')
param apiScopes string

@description('SESSION_TABLE_NAME.')
param sessionTableName string

@description('SESSION_IDLE_TIMEOUT, a Go duration.')
param sessionIdleTimeout string

@description('SESSION_ABSOLUTE_TIMEOUT, a Go duration.')
param sessionAbsoluteTimeout string

@description('LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string

@description('SWEEP_SCHEDULE: NCRONTAB schedule of the session sweeper, referenced as %SWEEP_SCHEDULE% from functions/sweep/function.json.')
param sweepSchedule string

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
    // Spreads always-ready instances over at least two zones, on-demand ones
    // best effort ("Reliability in Azure Functions"). The only property zone
    // redundancy needs (learn.microsoft.com/azure/azure-functions/functions-zone-redundancy).
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // Public: browsers sign in over the internet, with or without the
    // private network.
    publicNetworkAccess: 'Enabled'
    // Flex routes all outbound traffic through the integrated subnet (no
    // vnetRouteAllEnabled, which Flex does not support).
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    // Key Vault references resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identityId
    // No ftpsState, alwaysOn, linuxFxVersion or the other site properties
    // Flex Consumption does not support: the service rejects them (400 "...
    // for Flex Consumption sites is invalid"). The list: "Flex Consumption
    // plan deprecations" in the Functions app settings reference,
    // https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
    // A Flex app has no FTP endpoint to turn off.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        // 'http' is the group of every HTTP-triggered function.
        alwaysReady: alwaysReadyInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyInstances }] : []
      }
      // A custom handler: the host starts the Go binary named in host.json.
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }

  // No FTP, no basic-auth deployment: publishing authenticates with Entra ID.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

var defaultOrigin = 'https://${site.properties.defaultHostName}'

// Where sign-out returns: the handler's own default (PUBLIC_BASE_URL + /)
// written out, so that the app setting and the output naming the URI to
// register agree.
var postLogoutUri = empty(postLogoutRedirectUri) ? '${empty(publicBaseUrl) ? defaultOrigin : publicBaseUrl}/' : postLogoutRedirectUri

// The user flows are B2C's: an External ID tenant attaches its one user flow
// to the app registration, and the handler refuses a policy setting there
// (auth.ConfigFromEnv). So these are set for b2c only.
var b2cOnlySettings = identityProvider == 'b2c' ? {
  B2C_SIGNUP_SIGNIN_POLICY: b2cSignUpSignInPolicy
  B2C_PROFILE_EDIT_POLICY: b2cProfileEditPolicy
  B2C_PASSWORD_RESET_POLICY: b2cPasswordResetPolicy
  B2C_POLICY_CLAIM: b2cPolicyClaim
} : {}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: union({
    // Read by the Functions host.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AzureWebJobsDisableHomepage: 'true'
    SWEEP_SCHEDULE: sweepSchedule

    // Read by the handler (internal/config), for both kinds of tenant.
    IDENTITY_PROVIDER: identityProvider
    B2C_TENANT_NAME: b2cTenantName
    B2C_TENANT_HOST: b2cTenantHost
    B2C_TENANT_ID: tenantId
    B2C_CLIENT_ID: b2cClientId
    B2C_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${clientSecretUri})'
    PUBLIC_BASE_URL: empty(publicBaseUrl) ? defaultOrigin : publicBaseUrl
    POST_LOGOUT_REDIRECT_URI: postLogoutUri
    API_ENDPOINT: apiEndpoint
    API_SCOPES: apiScopes
    SESSION_TABLE_ENDPOINT: storageTableEndpoint
    SESSION_TABLE_NAME: sessionTableName
    AZURE_CLIENT_ID: identityClientId
    SESSION_IDLE_TIMEOUT: sessionIdleTimeout
    SESSION_ABSOLUTE_TIMEOUT: sessionAbsoluteTimeout
    LOG_LEVEL: logLevel
  }, b2cOnlySettings)
}

@description('Name of the function app.')
output name string = site.name

@description('Default host name of the app, e.g. func-abc.azurewebsites.net.')
output defaultHostName string = site.properties.defaultHostName

@description('The public origin the app builds its redirect URIs from (PUBLIC_BASE_URL).')
output publicBaseUrl string = empty(publicBaseUrl) ? defaultOrigin : publicBaseUrl

@description('Where sign-out returns (POST_LOGOUT_REDIRECT_URI): register it as a redirect URI of the app.')
output postLogoutRedirectUri string = postLogoutUri
