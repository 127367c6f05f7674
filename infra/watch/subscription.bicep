// One watched subscription, deployed by infra/main.bicep as a subscription-scope module
// (`for subscriptionId in watchedIds`, `scope: subscription(subscriptionId)`):
//   1. the gallery-watch reader role for gallery-watch's identity: a custom role with only the
//      reads the code performs (readerActions.json: Compute's, and for broad-access the role
//      assignments, role definitions and the subscription), instead of the built-in Reader on everything;
//   2. the subscription's Microsoft.Resources.Subscriptions system topic: reused when one exists
//      (Azure allows only one per subscription:
//      https://learn.microsoft.com/azure/event-grid/system-topics), created otherwise;
//   3. Storage Blob Data Contributor for that topic's system-assigned identity on gallery-watch's
//      storage account, so Event Grid can dead-letter with shared keys disabled.
// The Event Grid subscription itself (eventSubscription.bicep) is deployed by azure.yaml's
// postdeploy hook, once the function it delivers to exists.
targetScope = 'subscription'

@description('Region of the resource group created for the topic (the topic itself is global).')
param location string
param tags object = {}
@description('Principal id of gallery-watch\'s user-assigned identity.')
param appPrincipalId string
@description('Resource id of gallery-watch\'s storage account (it may be in another subscription).')
param storageAccountId string
@description('This subscription\'s existing system topic: {resourceGroup, name}; {} to create one.')
param existingSystemTopic object = {}
@description('Resource group for the topic gallery-watch creates (unused when reusing a topic).')
param eventsResourceGroupName string = 'rg-gallery-watch-events'

var reuseTopic = !empty(existingSystemTopic)
// ARM evaluates only the taken branch of a condition, so the property reads below are safe on {}:
// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-logical#if
var topicResourceGroupName = reuseTopic ? existingSystemTopic.resourceGroup : eventsResourceGroupName
var existingTopicName = reuseTopic ? existingSystemTopic.name : ''
// Each distinct action once (several SDK operations need the same one).
var readerActions = union(map(items(loadJsonContent('readerActions.json').operations), operation => operation.value), [])

// One definition per subscription, shared by every gallery-watch deployment that watches it (same
// name, same content: PUT is idempotent). Role names are unique per tenant, hence the id in it.
// https://learn.microsoft.com/azure/role-based-access-control/custom-roles-bicep
resource readerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'gallery-watch-reader')
  properties: {
    roleName: 'gallery-watch reader (${subscription().subscriptionId})'
    description: 'The reads gallery-watch performs: galleries, image definitions and versions, scale sets, virtual machines and their OS disks, shared and community gallery images.'
    type: 'CustomRole'
    permissions: [ { actions: readerActions, notActions: [] } ]
    assignableScopes: [ subscription().id ]
  }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appPrincipalId, readerRole.id)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: readerRole.id
  }
}

resource eventsGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = if (!reuseTopic) {
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

output topicName string = topicName
output topicResourceGroup string = topicResourceGroupName
output topicCreated bool = !reuseTopic
