// Log Analytics + workspace-based Application Insights with local (key) auth disabled: telemetry
// is accepted only with an Entra ID token, which the app gets from its managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, set in function.bicep):
// https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
// Queries and alerts for operators live in infra/monitoring/ (docs/operations.md).
param name string
param location string
param tags object = {}
param principalId string

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 90 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: { Application_Type: 'web', WorkspaceResourceId: workspace.id, DisableLocalAuth: true }
}

// Monitoring Metrics Publisher: the only role needed to send telemetry with Entra ID auth.
resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, principalId, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: insights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
  }
}

output connectionString string = insights.properties.ConnectionString
output appInsightsName string = insights.name
output appInsightsId string = insights.id
output workspaceName string = workspace.name
output workspaceId string = workspace.id
