// The subscription's Microsoft.Resources.Subscriptions system topic, when it has none yet (only
// one may exist per subscription: https://learn.microsoft.com/azure/event-grid/system-topics).
// Subscription-wide resource write/delete/action events; infra/watch/eventSubscription.bicep
// filters them down to what gallery-watch acts on.
param tags object = {}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'gallery-watch-${subscription().subscriptionId}'
  // Subscription and resource-group system topics are global.
  location: 'global'
  tags: tags
  // Its own identity writes dead letters: gallery-watch's storage account has shared keys disabled.
  // https://learn.microsoft.com/azure/event-grid/managed-service-identity
  identity: { type: 'SystemAssigned' }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
