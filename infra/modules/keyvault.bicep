// Key Vault holding the B2C client secret. Access is Azure RBAC only (no
// access policies); the app's identity gets Key Vault Secrets User on this
// vault (roles.bicep) and the app reads the secret through a Key Vault
// reference, so the value never appears in the site's configuration.
//
// The secret arrives as a @secure() parameter and is written through the
// control plane (Microsoft.KeyVault/vaults/secrets). An empty value writes
// nothing, so a redeployment without the secret keeps the version already in
// the vault. The template never reads the secret back (no getSecret: on a
// vault this same deployment creates, that is circular).

@description('Name of the vault (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the vault.')
param location string

@description('Tags applied to the vault and its secret.')
param tags object

@description('default creates the vault (or updates it); recover brings back a soft-deleted vault of this name, secrets included. Soft delete keeps a deleted vault\'s name for the retention period, so creating it again fails until it is recovered or purged.')
@allowed([
  'default'
  'recover'
])
param createMode string

@description('Purge protection: once on, it cannot be turned off, and a deleted vault keeps its name for the retention period. On for production.')
param enablePurgeProtection bool

@description('Days a deleted vault or secret stays recoverable (7 to 90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Name of the secret holding the B2C client secret.')
param clientSecretName string

@description('The B2C client secret. Empty: keep the version already stored.')
@secure()
param clientSecretValue string

@description('Private network: the vault answers only through its private endpoint (network.bicep); public network access is off.')
param vnetEnabled bool

@description('A CanNotDelete lock on the vault (production).')
param lock bool

@description('Resource ID of the Log Analytics workspace that receives the vault\'s audit log.')
param workspaceId string

@description('Resource ID of the action group told when the client secret nears or reaches its expiry.')
param actionGroupId string

@description('When the B2C client secret expires, as an ISO 8601 UTC time (2027-05-01T00:00:00Z); empty for none. Recorded on the secret so expiry alerts can fire before B2C rejects it.')
param clientSecretExpiresOn string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    createMode: createMode
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The service rejects false; null leaves it off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    // Templates never read this vault (no reference() or getSecret()).
    enabledForTemplateDeployment: false
    enabledForDeployment: false
    enabledForDiskEncryption: false
    // Without virtual network integration the Key Vault reference is
    // resolved over the public endpoint and RBAC is the access control
    // (Allow is explicit: new vaults otherwise default to Deny). With it, only
    // the private endpoint answers: publicNetworkAccess Disabled blocks all
    // but private endpoint and trusted-service traffic, firewall rules
    // included. This deployment still writes the secret (vaults/secrets goes
    // through Resource Manager), but az keyvault secret set from outside the
    // network no longer reaches the vault.
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource clientSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(clientSecretValue)) {
  parent: vault
  name: clientSecretName
  tags: tags
  properties: {
    value: clientSecretValue
    contentType: 'Azure AD B2C client secret'
    attributes: {
      enabled: true
      exp: empty(clientSecretExpiresOn) ? null : dateTimeToEpoch(clientSecretExpiresOn)
    }
  }
}

// The vault's audit log (every secret read, including the app's Key Vault
// reference resolving, and every refusal) to the workspace, where it lands
// in AzureDiagnostics (ResourceProvider == "MICROSOFT.KEYVAULT",
// Category == "AuditEvent"): "Azure Key Vault logging".
resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// The client secret's expiry pages someone 30 days ahead. Key Vault
// publishes Microsoft.KeyVault.SecretNearExpiry 30 days before a secret's
// exp, and SecretExpired when it passes ("Azure Key Vault as Event Grid
// source"); neither is a metric or a log line, so the alert is an Event Grid
// subscription whose destination is Azure Monitor alerts, firing the action
// group ("How to send events to Azure monitor alerts": Key Vault system
// events only, CloudEvents v1.0 schema only; the feature is in preview). It
// filters on data.ObjectName, the secret's name. No event comes without an
// exp: set B2C_CLIENT_SECRET_EXPIRES_ON.
resource vaultEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${name}'
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }

  resource clientSecretExpiry 'eventSubscriptions' = {
    name: '${clientSecretName}-expiry'
    properties: {
      eventDeliverySchema: 'CloudEventSchemaV1_0'
      filter: {
        includedEventTypes: [
          'Microsoft.KeyVault.SecretNearExpiry'
          'Microsoft.KeyVault.SecretExpired'
        ]
        advancedFilters: [
          {
            operatorType: 'StringIn'
            key: 'data.ObjectName'
            values: [
              clientSecretName
            ]
          }
        ]
      }
      destination: {
        endpointType: 'MonitorAlert'
        properties: {
          severity: 'Sev2'
          description: 'The B2C client secret (${clientSecretName} in ${name}) expires within 30 days, or has expired: rotate it (docs/operations.md, Rotating the B2C client secret).'
          actionGroups: [
            actionGroupId
          ]
        }
      }
    }
  }
}

// Nobody deletes it by mistake: CanNotDelete still allows every change and
// every data operation ("Lock your resources to protect your
// infrastructure", Azure Resource Manager). Creating or removing a lock
// needs Microsoft.Authorization/locks/*, which of the built-in roles only
// Owner and User Access Administrator have.
resource vaultLock 'Microsoft.Authorization/locks@2020-05-01' = if (lock) {
  name: 'do-not-delete'
  scope: vault
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the B2C client secret; with purge protection a deleted vault keeps its name for the retention period. Remove this lock before deleting the vault or its resource group.'
  }
}

@description('Name of the vault.')
output name string = vault.name

@description('Versionless URI of the client secret (trailing slash kept), for the app setting\'s Key Vault reference: the app follows new versions.')
output clientSecretUri string = '${vault.properties.vaultUri}secrets/${clientSecretName}/'
