// Lets a system topic's managed identity write dead letters into gallery-watch's storage account
// (shared keys disabled): Storage Blob Data Contributor on that account only.
// https://learn.microsoft.com/azure/event-grid/managed-service-identity#supported-destinations-and-azure-roles
param storageAccountName string
param topicPrincipalId string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, topicPrincipalId, storageBlobDataContributor)
  scope: storage
  properties: {
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}
