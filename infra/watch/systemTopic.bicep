param functionAppId string
param storageAccountId string

// One Event Grid system topic per subscription: resource write/delete/action events.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'gallery-watch-${subscription().subscriptionId}'
  location: 'global'
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource toFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
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
      advancedFilters: [
        {
          operatorType: 'StringBeginsWith'
          key: 'data.operationName'
          values: [ 'Microsoft.Compute/galleries', 'Microsoft.Compute/virtualMachineScaleSets' ]
        }
      ]
    }
    // Event Grid's maximum: 30 attempts over 24 h, then the dead-letter container keeps the event.
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
    deadLetterDestination: {
      endpointType: 'StorageBlob'
      properties: { resourceId: storageAccountId, blobContainerName: 'eventgrid-deadletter' }
    }
  }
}
