// One storage account serves three readers, all through the app's
// user-assigned identity and never through account keys:
//   - the Functions host (AzureWebJobsStorage__*: timer locks, host state),
//   - Flex Consumption deployments (the package container below),
//   - the handler's session store (the sessions table, SESSION_TABLE_ENDPOINT).
// Shared-key access is off, so no connection string with a key can work.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Replication. Flex Consumption supports locally and zone-redundant storage.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param skuName string

@description('Blob container that holds the Flex Consumption deployment package.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Table holding sessions and token caches (SESSION_TABLE_NAME).')
@minLength(3)
@maxLength(63)
param sessionTableName string

@description('Private network: the account answers only through private endpoints (network.bicep); public network access is off.')
param vnetEnabled bool

@description('A CanNotDelete lock on the account (production).')
param lock bool

@description('Resource ID of the Log Analytics workspace that receives the table service\'s logs.')
param workspaceId string

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    // Entra ID only: no account keys, no SAS signed with them.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Without virtual network integration the app reaches storage over its
    // public endpoint and identity (RBAC) is the access control. With it,
    // only the private endpoints answer, as in Microsoft's Flex Consumption
    // azd templates (vnetEnabled: publicNetworkAccess Disabled, Deny, no
    // bypass); deployments and publishing then go through the app's network
    // too (the package upload runs on the app's instance).
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: vnetEnabled ? 'None' : 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource sessionTable 'tables' = {
      name: sessionTableName
    }
  }
}

// Every read, write and delete on the tables (sessions, token caches, the
// host's diagnostic events) to the workspace, as StorageTableLogs: who was
// refused (403), what was throttled (503), how long calls took. Storage
// diagnostic settings are set per service, not on the account
// ("Monitor Azure Table Storage", Azure Monitor resource logs).
resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: storage::tableService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

// Nobody deletes it by mistake: CanNotDelete still allows every change and
// every data operation ("Lock your resources to protect your
// infrastructure", Azure Resource Manager). Creating or removing a lock
// needs Microsoft.Authorization/locks/*, which of the built-in roles only
// Owner and User Access Administrator have.
resource storageLock 'Microsoft.Authorization/locks@2020-05-01' = if (lock) {
  name: 'do-not-delete'
  scope: storage
  properties: {
    level: 'CanNotDelete'
    notes: 'Host storage, the Flex deployment package and every session live here. Remove this lock before deleting the account or its resource group.'
  }
}

@description('Name of the storage account (AzureWebJobsStorage__accountName).')
output name string = storage.name

@description('Blob endpoint, with a trailing slash.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('Table endpoint, with a trailing slash (SESSION_TABLE_ENDPOINT).')
output tableEndpoint string = storage.properties.primaryEndpoints.table

@description('Name of the deployment container.')
output deploymentContainerName string = storage::blobService::deploymentContainer.name

@description('Name of the sessions table.')
output sessionTableName string = storage::tableService::sessionTable.name
