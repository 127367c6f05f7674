// One Event Grid system topic per subscription: resource write/delete/action events.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'gallery-watch-${subscription().subscriptionId}'
  location: 'global'
  // Its own identity writes dead letters: gallery-watch's storage account has shared keys disabled.
  identity: { type: 'SystemAssigned' }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
