// The event subscription of the subscription's system topic, delivering to eventGridResourceEvent.
// Deployed in the topic's resource group by subscription.bicep, only once the function is
// deployed: Event Grid refuses an AzureFunction destination whose function does not exist yet.
param topicName string
param functionAppId string
param storageAccountId string
@description('Container in the storage account that receives dead letters (GW_DEADLETTER_CONTAINER).')
param deadLetterContainer string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource toFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'gallery-watch'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: { resourceId: '${functionAppId}/functions/eventGridResourceEvent', maxEventsPerBatch: 1, preferredBatchSizeInKilobytes: 64 }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
        'Microsoft.Resources.ResourceActionSuccess'
      ]
      // Exactly the operations gallery-watch acts on (shared/app/resourceEvent.ts): not scale-set
      // instance, VM or scale-set extension, power action (start, restart, deallocate) or run-command
      // traffic, not gallery applications. String filters are
      // case-insensitive: https://learn.microsoft.com/azure/event-grid/event-filtering#advanced-filtering
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: [
            'Microsoft.Compute/galleries/write'
            'Microsoft.Compute/galleries/delete'
            'Microsoft.Compute/galleries/share/action'
            'Microsoft.Compute/galleries/images/write'
            'Microsoft.Compute/galleries/images/delete'
            'Microsoft.Compute/galleries/images/versions/write'
            'Microsoft.Compute/galleries/images/versions/delete'
            'Microsoft.Compute/virtualMachineScaleSets/write'
            'Microsoft.Compute/virtualMachineScaleSets/delete'
            'Microsoft.Compute/virtualMachines/write'
            'Microsoft.Compute/virtualMachines/delete'
            'Microsoft.Resources/tags/write'
            'Microsoft.Resources/subscriptions/resourceGroups/delete'
            'Microsoft.Authorization/roleAssignments/write'
            'Microsoft.Authorization/roleAssignments/delete'
          ]
        }
      ]
    }
    // Event Grid's maximum: 30 attempts over 24 h, then the dead-letter container keeps the event.
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
    // Dead letters written with the topic's managed identity (Storage Blob Data Contributor on the
    // container's account, granted by deadLetterRole.bicep): https://learn.microsoft.com/azure/event-grid/managed-service-identity
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: { resourceId: storageAccountId, blobContainerName: deadLetterContainer }
      }
    }
  }
}
