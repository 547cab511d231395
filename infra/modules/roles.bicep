// Every permission the app's identity holds, in one place, each scoped to
// the one resource it is needed on. Roles are Azure built-in roles named by
// their fixed IDs; the policy test in infra/ accepts exactly these four.
// Names are guid(scope, principal ID, role) ("Create Azure RBAC resources by
// using Bicep"): different for every scope/principal/role triple, and new
// when the identity is deleted and created again under the same name (a
// name over its resource ID would then carry another principal, which ARM
// refuses). The principal ID is this module's parameter, so it is known
// when the module's deployment starts (BCP120 forbids it only in the file
// that creates the identity).
//
// The app takes its identity from this module's outputs, not from the
// identity module: that reference makes the app wait until every assignment
// here exists, so its Key Vault reference and its identity-based host
// storage are not tried before the identity may use them.

@description('Object (principal) ID of the app\'s user-assigned identity.')
param principalId string

@description('Resource ID of the same identity, handed on to the app.')
param identityId string

@description('Client ID of the same identity, handed on to the app.')
param identityClientId string

@description('Name of the storage account the app uses.')
param storageAccountName string

@description('Name of the Application Insights component the app reports to.')
param appInsightsName string

@description('Name of the vault holding the B2C client secret.')
param keyVaultName string

// Built-in role definition IDs (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

// Storage Blob Data Owner: the Functions host's blob use (timer locks, host
// keys and state) and reading the Flex Consumption deployment package.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Functions host storage and deployment package'
  }
}

// No Storage Queue Data Contributor: nothing here uses queues. The host with
// HTTP and timer triggers only needs blobs (locks, keys) and tables
// (diagnostic events); queues come with blob triggers and Durable Functions
// ("Connecting to host storage with an identity", Functions developer
// reference), and the Flex deployment package is a blob.

// Storage Table Data Contributor: the handler's session and token-cache rows,
// and the host's diagnostic events. Azure RBAC can scope a table role to one
// table (tableServices/default/tables/<name>: "Assign an Azure role for
// access to table data"), but the host needs the whole table service: it
// writes diagnostic events to a table of its own per month,
// AzureFunctionsDiagnosticEvents<yyyyMM>, created and listed through
// AzureWebJobsStorage (DiagnosticEventTableStorageRepository in the host;
// "host only, with support for diagnostic events" needs Storage Table Data
// Contributor in the developer reference; without it the host logs AZFD0003).
// The handler also creates its table when it is missing (EnsureStorage).
// A second identity for the sessions alone would narrow nothing: the handler
// runs in the same app and can ask for any identity the site holds.
resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Session table and the host\'s diagnostic events'
  }
}

// Monitoring Metrics Publisher: Entra ID ingestion into Application Insights
// (local auth is disabled there).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Application Insights ingestion'
  }
}

// Key Vault Secrets User: resolving the B2C_CLIENT_SECRET Key Vault reference.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'B2C client secret Key Vault reference'
  }
}

@description('Resource ID of the identity, once it holds every role above: what the app runs as.')
output identityId string = identityId

@description('Client ID of the identity, once it holds every role above (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
output identityClientId string = identityClientId
