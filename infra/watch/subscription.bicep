// One watched subscription, deployed by infra/main.bicep as a subscription-scope module
// (`for subscriptionId in watchedIds`, `scope: subscription(subscriptionId)`):
//   1. Reader for gallery-watch's identity (galleries, definitions, versions and scale sets are
//      read, never written);
//   2. the subscription's Microsoft.Resources.Subscriptions system topic: reused when one exists
//      (Azure allows only one per subscription:
//      https://learn.microsoft.com/azure/event-grid/system-topics), created otherwise;
//   3. Storage Blob Data Contributor for that topic's system-assigned identity on gallery-watch's
//      storage account, so Event Grid can dead-letter with shared keys disabled;
//   4. when connectEventGrid: the Event Grid subscription to the eventGridResourceEvent function,
//      after the role in 3 (and after the function app, which main.bicep deploys first).
targetScope = 'subscription'

@description('Region of the resource group created for the topic (the topic itself is global).')
param location string
param tags object = {}
@description('Principal id of gallery-watch\'s user-assigned identity.')
param appPrincipalId string
@description('Resource id of the function app.')
param functionAppId string
@description('Resource id of gallery-watch\'s storage account (it may be in another subscription).')
param storageAccountId string
@description('Container of that account the Event Grid subscription dead-letters to (GW_DEADLETTER_CONTAINER).')
param deadLetterContainer string
@description('This subscription\'s existing system topic: {resourceGroup, name}; {} to create one.')
param existingSystemTopic object = {}
@description('Resource group for the topic gallery-watch creates (unused when reusing a topic).')
param eventsResourceGroupName string = 'rg-gallery-watch-events'
@description('Create the Event Grid subscription (the eventGridResourceEvent function must already be deployed).')
param connectEventGrid bool = false

var reuseTopic = !empty(existingSystemTopic)
// ARM evaluates only the taken branch of a condition, so the property reads below are safe on {}:
// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-logical#if
var topicResourceGroupName = reuseTopic ? existingSystemTopic.resourceGroup : eventsResourceGroupName
var existingTopicName = reuseTopic ? existingSystemTopic.name : ''
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appPrincipalId, readerRoleId)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
  }
}

resource eventsGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (!reuseTopic) {
  name: eventsResourceGroupName
  location: location
  tags: tags
}

module createdTopic 'systemTopic.bicep' = if (!reuseTopic) {
  name: 'gallery-watch-system-topic'
  scope: eventsGroup
  params: { tags: tags }
}

module reusedTopic 'existingSystemTopic.bicep' = if (reuseTopic) {
  name: 'gallery-watch-existing-system-topic'
  scope: resourceGroup(topicResourceGroupName)
  params: { topicName: existingTopicName }
}

var topicName = reuseTopic ? reusedTopic!.outputs.name : createdTopic!.outputs.name
var topicPrincipalId = reuseTopic ? reusedTopic!.outputs.principalId : createdTopic!.outputs.principalId

// The storage account lives with the app (its own resource group, possibly another subscription).
module deadLetterRole 'deadLetterRole.bicep' = {
  name: 'gw-dead-letter-role-${subscription().subscriptionId}'
  scope: resourceGroup(split(storageAccountId, '/')[2], split(storageAccountId, '/')[4])
  params: { storageAccountName: last(split(storageAccountId, '/')), topicPrincipalId: topicPrincipalId }
}

module eventSubscription 'eventSubscription.bicep' = if (connectEventGrid) {
  name: 'gallery-watch-event-subscription'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    topicName: topicName
    functionAppId: functionAppId
    storageAccountId: storageAccountId
    deadLetterContainer: deadLetterContainer
  }
  // The topic identity must be able to write dead letters before events can fail over to them.
  dependsOn: [ deadLetterRole ]
}

output topicName string = topicName
output topicResourceGroup string = topicResourceGroupName
output topicCreated bool = !reuseTopic
output eventSubscriptionConnected bool = connectEventGrid
