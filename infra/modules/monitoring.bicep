// Log Analytics, workspace-based Application Insights and the action group
// the alerts notify. Local (key) authentication is disabled on the
// component, so telemetry is accepted only from Entra ID principals holding Monitoring Metrics Publisher on it
// (roles.bicep grants that to the app's identity; the app authenticates with
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING). The instrumentation key inside
// the connection string then grants nothing on its own.

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Region of both resources.')
param location string

@description('Tags applied to both resources.')
param tags object

@description('Days Log Analytics keeps data (30 to 730).')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Name of the action group every alert notifies.')
param actionGroupName string

@description('Email address the alerts are sent to; empty: the alerts only show in the portal.')
param alertEmail string

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Entra ID only: the connection string's instrumentation key alone cannot send telemetry.
    DisableLocalAuth: true
  }
}

// Who is told when an alert fires: one email receiver, in the common alert
// schema. The alert rules (alerts.bicep) and the secret-expiry event
// subscription (keyvault.bicep) all name this group.
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'b2c-signin'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'on-call'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

@description('Resource ID of the action group the alerts notify.')
output actionGroupId string = actionGroup.id

@description('Resource ID of the Log Analytics workspace: where diagnostic settings send resource logs.')
output workspaceId string = workspace.id

@description('Name of the Application Insights component (scope of Monitoring Metrics Publisher).')
output appInsightsName string = appInsights.name

@description('Connection string for APPLICATIONINSIGHTS_CONNECTION_STRING. Not a secret once local auth is disabled.')
output appInsightsConnectionString string = appInsights.properties.ConnectionString
