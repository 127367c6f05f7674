// gallery-watch's own storage account: Functions host storage (AzureWebJobsStorage), the tables,
// the trigger queues, the Flex Consumption deployment container and the Event Grid dead letters.
// Shared keys are disabled; everything uses Entra ID (managed identity, or az login for the CLI).
param name string
param location string
param tags object = {}
@description('gallery-watch\'s managed identity: gets the data roles below on this account only.')
param principalId string
@description('Queues the app triggers on or writes to (GW_RECHECK_QUEUE, GW_SWEEP_QUEUE, GW_DELIVERY_QUEUE).')
param queueNames array
@description('Container the Event Grid subscriptions dead-letter to (GW_DEADLETTER_CONTAINER).')
param deadLetterContainer string
@description('Person or pipeline running the gallery-watch CLI against Azure; empty for none.')
param operatorPrincipalId string = ''
param operatorPrincipalType string = 'User'

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_ZRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
}

// Flex Consumption pulls the deployed package from here (functionAppConfig.deployment.storage).
resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobs
  name: 'deploymentpackage'
}

// Event Grid must find the container when it dead-letters; redriveDeadLetters reads it.
resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobs
  name: deadLetterContainer
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = [for queue in queueNames: {
  parent: queueService
  name: queue
}]

// Identity-based host storage needs blob (Owner), queue and table data roles:
// https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
var appRoles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource appAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(appRoles): {
  name: guid(account.id, principalId, role.value)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
  }
}]

// The CLI (`gallery-watch sweep`, `digest`) queues sweeps, reads runs and findings, claims the
// digest row; docs/operations.md reads dead letters with `az storage blob list --auth-mode login`.
var operatorRoles = {
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource operatorAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(operatorRoles): if (!empty(operatorPrincipalId)) {
  name: guid(account.id, operatorPrincipalId, role.value)
  scope: account
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
  }
}]

output name string = account.name
output id string = account.id
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployment.name}'
