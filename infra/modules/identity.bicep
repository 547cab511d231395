// The user-assigned managed identity the app runs as. One identity serves
// every data-plane call: the Functions host's storage (AzureWebJobsStorage__*),
// the deployment container, the handler's session table (AZURE_CLIENT_ID),
// the Key Vault reference and Application Insights ingestion. It is created
// before the app, so its role assignments can exist before the app first
// starts (a system-assigned identity would not exist until the site does).

@description('Name of the user-assigned managed identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource ID of the identity (sites.identity, keyVaultReferenceIdentity, deployment storage).')
output id string = identity.id

@description('Name of the identity.')
output name string = identity.name

@description('Client (application) ID: what AZURE_CLIENT_ID and AzureWebJobsStorage__clientId carry.')
output clientId string = identity.properties.clientId

@description('Object (principal) ID: what role assignments grant to.')
output principalId string = identity.properties.principalId
