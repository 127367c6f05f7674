// gallery-watch on Azure Functions Flex Consumption (Node 22): `azd up` provisions this file
// (parameters from infra/main.parameters.json, i.e. the azd environment). README.md "Deploying"
// has the command sequence; infra/README.md lists every resource type and API version.
//
// Subscription scope, as azd's templates are: the deployment creates the app's resource group
// itself, so `azd up` from a fresh clone needs no `az group create` first. The deployer needs
// rights to create a resource group in the app's subscription (plus each watched subscription).
// https://learn.microsoft.com/azure/developer/azure-developer-cli/make-azd-compatible#update-bicep-files
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// azd environment
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name (AZURE_ENV_NAME): tags every resource and seeds the unique resource names.')
param environmentName string

@description('Region of the app (AZURE_LOCATION). It must offer Flex Consumption: az functionapp list-flexconsumption-locations -o table')
param location string

@description('The app\'s resource group (AZURE_RESOURCE_GROUP), created by this deployment. Empty: rg-<environment name>.')
param resourceGroupName string = ''

@description('Object id of whoever runs azd (AZURE_PRINCIPAL_ID). Gets the data roles the gallery-watch CLI needs (queue a sweep, read runs, send the digest, read the webhook secret). Empty: none.')
param operatorPrincipalId string = ''

@allowed([ 'User', 'ServicePrincipal', 'Group' ])
@description('Type of operatorPrincipalId (AZURE_PRINCIPAL_TYPE): azd sets User for a person, ServicePrincipal in a pipeline.')
param operatorPrincipalType string = 'User'

// ---------------------------------------------------------------------------------------------
// What is watched
// ---------------------------------------------------------------------------------------------

@minLength(36)
@description('Subscriptions to watch (GW_WATCHED_SUBSCRIPTIONS): GUIDs separated by commas, spaces or semicolons. Each gets the gallery-watch reader role for the app and an Event Grid subscription on its system topic.')
param watchedSubscriptionIds string

@description('Subscriptions that already have their Microsoft.Resources.Subscriptions system topic (only one may exist per subscription), keyed by subscription id: {"<subscription id>": {"resourceGroup": "<group>", "name": "<topic>"}} (GW_EXISTING_SYSTEM_TOPICS). That topic must have a system-assigned identity (it writes the dead letters). Subscriptions not listed get a topic created in eventsResourceGroupName.')
param existingSystemTopics object = {}

@description('Resource group created in each watched subscription without an existing system topic, to hold the topic gallery-watch creates (GW_EVENTS_RESOURCE_GROUP).')
param eventsResourceGroupName string = 'rg-gallery-watch-events'

// ---------------------------------------------------------------------------------------------
// Teams
// ---------------------------------------------------------------------------------------------

@secure()
@description('Teams Workflows webhook URL ("When a Teams webhook request is received"), GW_TEAMS_WEBHOOK_URL. Stored as a Key Vault secret; the app setting only references it.')
param teamsWebhookUrl string

@secure()
@description('Optional second Workflows webhook for critical alerts (GW_TEAMS_CRITICAL_WEBHOOK_URL). Empty: critical alerts go to the main webhook.')
param teamsCriticalWebhookUrl string = ''

// ---------------------------------------------------------------------------------------------
// Rules and schedules (app settings; README.md "Settings" explains each)
// ---------------------------------------------------------------------------------------------

@minValue(1)
@maxValue(60)
param maxRegions int = 2

@minValue(1)
@maxValue(1000)
param maxTotalReplicas int = 10

@description('Programmatic region names, comma separated; empty allows any.')
param allowedRegions string = ''

param requiredTags string = 'owner,approver'

@description('Who may set exception tags: UPNs and/or object ids, comma separated; empty: anyone but the person whose change raised the finding.')
param exceptionApprovers string = ''

@description('NCRONTAB, 6 fields, UTC.')
param sweepSchedule string = '0 0 2 * * *'

@description('NCRONTAB, 6 fields, UTC.')
param digestSchedule string = '0 0 7 * * *'

// ---------------------------------------------------------------------------------------------
// The findings feed (infra/README.md "Findings feed")
// ---------------------------------------------------------------------------------------------

@description('Create an Event Grid custom topic (CloudEvents 1.0, Entra ID only) that every finding transition is published to (GW_ENABLE_FINDINGS_TOPIC), and set GW_FINDINGS_TOPIC_ENDPOINT.')
param enableFindingsTopic bool = false

@description('Resource id of an Event Hub (/subscriptions/…/providers/Microsoft.EventHub/namespaces/<ns>/eventhubs/<hub>) that the topic routes every event to, for Microsoft Sentinel or another SIEM (GW_FINDINGS_EVENT_HUB_ID). Empty: no route. Needs enableFindingsTopic.')
param findingsEventHubId string = ''

// ---------------------------------------------------------------------------------------------
// The history API
// ---------------------------------------------------------------------------------------------

@description('Put App Service authentication (Entra ID) in front of the app (GW_ENABLE_ENTRA_AUTH). Callers then present an Entra access token for entraClientId and need no function key: the HTTP API is registered anonymous behind it.')
param enableEntraAuth bool = false

@description('Application (client) id of the Entra app registration that represents the gallery-watch API (GW_ENTRA_CLIENT_ID). Required when enableEntraAuth is true.')
param entraClientId string = ''

@description('Purge protection on the Key Vault (GW_KEY_VAULT_PURGE_PROTECTION). Once on it cannot be turned off, and a deleted vault keeps its name for the retention period.')
param keyVaultPurgeProtection bool = true

// ---------------------------------------------------------------------------------------------

var tags = { 'azd-env-name': environmentName, application: 'gallery-watch' }

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

var resourceToken = toLower(uniqueString(subscription().id, rg.id, environmentName))

// Watched subscriptions, normalised once: the app setting, the Reader assignments and the
// Event Grid wiring all come from this one list.
var watchedIds = union(map(filter(split(watchedSubscriptionIds, [ ',', ' ', ';', '\n', '\r', '\t' ]), id => !empty(trim(id))), id => toLower(trim(id))), [])

// Names the app reads from its settings, and the resources behind them (storage.bicep creates
// the queues and the container, so they exist before Event Grid or a trigger needs them).
var recheckQueue = 'gw-recheck'
var sweepQueue = 'gw-sweep'
var deliveryQueue = 'gw-deliver'
var deadLetterContainer = 'eventgrid-deadletter'
var tablePrefix = 'gw'
var outboxSchedule = '*/30 * * * * *'
var redriveSchedule = '0 */5 * * * *'

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-gallerywatch-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: take('stgw${resourceToken}', 24)
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    queueNames: [ recheckQueue, sweepQueue, deliveryQueue ]
    deadLetterContainer: deadLetterContainer
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: 'gallerywatch-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

// The operator's first look (infra/monitoring/, docs/operations.md): a workbook over the
// Application Insights resource, with the queries kept as .kql files beside it.
module workbook 'monitoring/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    appInsightsId: monitoring.outputs.appInsightsId
    location: location
    tags: tags
  }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: take('kv-gw-${resourceToken}', 24)
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    teamsWebhookUrl: teamsWebhookUrl
    teamsCriticalWebhookUrl: teamsCriticalWebhookUrl
    purgeProtection: keyVaultPurgeProtection
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// Every setting the app reads (shared/wiring/config.ts SETTINGS) that has to differ from its default
// in Azure, and every %NAME% binding expression in functions/*.ts (the host cannot index a
// trigger whose expression has no app setting). test/unit/infraWiring.test.ts holds this list
// to the code. Secrets are Key Vault references to the versionless secret URI, so a new secret
// version is picked up without a deployment:
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation
var baseAppSettings = {
  GW_WATCHED_SUBSCRIPTIONS: join(watchedIds, ',')
  GW_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vault.outputs.webhookSecretUri})'
  GW_MAX_REGIONS: string(maxRegions)
  GW_MAX_TOTAL_REPLICAS: string(maxTotalReplicas)
  GW_ALLOWED_REGIONS: allowedRegions
  GW_REQUIRED_TAGS: requiredTags
  GW_EXCEPTION_APPROVERS: exceptionApprovers
  // broad-access never counts gallery-watch's own identity among an image's users: it reads every image to watch it.
  GW_APP_PRINCIPAL_ID: identity.outputs.principalId
  GW_SWEEP_SCHEDULE: sweepSchedule
  GW_DIGEST_SCHEDULE: digestSchedule
  GW_OUTBOX_SCHEDULE: outboxSchedule
  GW_REDRIVE_SCHEDULE: redriveSchedule
  GW_RECHECK_QUEUE: recheckQueue
  GW_SWEEP_QUEUE: sweepQueue
  GW_DELIVERY_QUEUE: deliveryQueue
  GW_DEADLETTER_CONTAINER: deadLetterContainer
  GW_TABLE_PREFIX: tablePrefix
}
module findingsTopic 'app/findingsTopic.bicep' = if (enableFindingsTopic) {
  name: 'findingsTopic'
  scope: rg
  params: {
    name: 'egt-gw-findings-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    eventHubId: findingsEventHubId
  }
}
var findingsTopicSetting = enableFindingsTopic ? {
  GW_FINDINGS_TOPIC_ENDPOINT: findingsTopic!.outputs.endpoint
} : {}
var criticalWebhookSetting = empty(teamsCriticalWebhookUrl) ? {} : {
  GW_TEAMS_CRITICAL_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vault.outputs.criticalWebhookSecretUri})'
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: 'func-gallerywatch-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: union(baseAppSettings, criticalWebhookSetting, findingsTopicSetting)
    enableEntraAuth: enableEntraAuth
    entraClientId: entraClientId
  }
}

// One subscription-scope deployment per watched subscription: the gallery-watch reader role (only
// the reads the code performs) for the app's identity, the subscription's system topic (reused or
// created) and the topic identity's dead-letter role on the app's storage. The Event Grid
// subscription to eventGridResourceEvent is not here: Event Grid refuses an Azure Function
// destination until the function exists, and on a first `azd up` provisioning runs before the code
// is deployed. azure.yaml's postdeploy hook (scripts/connect-event-grid.mjs) deploys
// watch/eventSubscription.bicep to each topic once the code is there, as Microsoft's azd Event
// Grid samples do (Azure-Samples/functions-quickstart-javascript-azd-eventgrid-blob).
module watch 'watch/subscription.bicep' = [for subscriptionId in watchedIds: {
  name: 'gw-watch-${subscriptionId}'
  scope: subscription(subscriptionId)
  params: {
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    storageAccountId: storage.outputs.id
    existingSystemTopic: existingSystemTopics[?subscriptionId] ?? {}
    eventsResourceGroupName: eventsResourceGroupName
  }
}]

// Read by azd after provisioning (`azd env get-values`), by docs/operations.md and by azd deploy
// (it finds the app by its azd-service-name tag). No AZURE_CLIENT_ID output on purpose: exported
// locally it would make DefaultAzureCredential try the app's identity instead of your az login.
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output AZURE_FUNCTION_APP_HOSTNAME string = functionApp.outputs.defaultHostName
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.workspaceName
output GW_WORKBOOK_ID string = workbook.outputs.workbookId
output GW_DEADLETTER_CONTAINER_NAME string = deadLetterContainer
output GW_SYSTEM_TOPICS array = [for (subscriptionId, i) in watchedIds: {
  subscriptionId: subscriptionId
  resourceGroup: watch[i].outputs.topicResourceGroup
  topic: watch[i].outputs.topicName
  created: watch[i].outputs.topicCreated
}]
