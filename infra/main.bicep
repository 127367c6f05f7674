// gallery-watch on Azure Functions Flex Consumption (Node 22), identity-based storage, no connection strings.
// Deploy: see infra/README.md. Outputs are SCREAMING_CASE for azd-style tooling.
targetScope = 'resourceGroup'

@description('Short name used in resource names.')
param name string = 'gallerywatch'
param location string = resourceGroup().location
@description('Subscriptions the nightly sweep walks (GUIDs). Grant Reader on each with infra/watch/subscription.bicep.')
param watchedSubscriptionIds array
@secure()
@description('Teams Workflows webhook URL ("When a Teams webhook request is received"). Stored in Key Vault; contains a sig= secret.')
param teamsWebhookUrl string
param maxRegions int = 2
param allowedRegions string = ''
param requiredTags string = 'owner,approver'
param sweepSchedule string = '0 0 2 * * *'

var suffix = uniqueString(resourceGroup().id, name)
var storageName = take('gw${suffix}', 24)

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: { name: storageName, location: location, principalId: identity.properties.principalId }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: { name: name, location: location, principalId: identity.properties.principalId }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: { name: take('${name}-${suffix}', 24), location: location, principalId: identity.properties.principalId, teamsWebhookUrl: teamsWebhookUrl }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  params: {
    name: '${name}-${suffix}'
    location: location
    identityId: identity.id
    identityClientId: identity.properties.clientId
    storageName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: {
      GW_WATCHED_SUBSCRIPTIONS: join(watchedSubscriptionIds, ',')
      GW_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vault.outputs.webhookSecretUri})'
      GW_MAX_REGIONS: string(maxRegions)
      GW_ALLOWED_REGIONS: allowedRegions
      GW_REQUIRED_TAGS: requiredTags
      GW_SWEEP_SCHEDULE: sweepSchedule
      GW_OUTBOX_SCHEDULE: '*/30 * * * * *'
      GW_DIGEST_SCHEDULE: '0 0 7 * * *'
      GW_REDRIVE_SCHEDULE: '0 */5 * * * *'
      // The container the Event Grid subscriptions dead-letter to (infra/watch/systemTopic.bicep).
      GW_DEADLETTER_CONTAINER: 'eventgrid-deadletter'
      GW_RECHECK_QUEUE: 'gw-recheck'
      GW_SWEEP_QUEUE: 'gw-sweep'
      GW_TABLE_PREFIX: 'gw'
    }
  }
}

output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
