// Deploy once per watched subscription, AFTER the function code is published (the event
// subscription validates against the eventGridResourceEvent function):
//   az deployment sub create -l westeurope -f infra/watch/subscription.bicep -p ...
targetScope = 'subscription'

param location string = deployment().location
@description('Principal id of gallery-watch\'s managed identity (output AZURE_IDENTITY_PRINCIPAL_ID).')
param principalId string
@description('Resource id of the function app (output AZURE_FUNCTION_APP_ID).')
param functionAppId string
@description('Resource id of gallery-watch\'s storage account, for dead-lettered events.')
param storageAccountId string
param resourceGroupName string = 'rg-gallery-watch-events'

// Reader on the subscription: galleries, image definitions/versions and scale sets are read, never written.
resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
  }
}

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
}

module topic 'systemTopic.bicep' = {
  name: 'gallery-watch-system-topic'
  scope: group
}

// The storage account lives with the app (another resource group, possibly another subscription).
module deadLetterRole 'deadLetterRole.bicep' = {
  name: 'gallery-watch-dead-letter-role-${subscription().subscriptionId}'
  scope: resourceGroup(split(storageAccountId, '/')[2], split(storageAccountId, '/')[4])
  params: { storageAccountName: last(split(storageAccountId, '/')), topicPrincipalId: topic.outputs.principalId }
}

module eventSubscription 'eventSubscription.bicep' = {
  name: 'gallery-watch-event-subscription'
  scope: group
  params: { topicName: topic.outputs.name, functionAppId: functionAppId, storageAccountId: storageAccountId }
  dependsOn: [ deadLetterRole ]
}
