// The subscription's existing Microsoft.Resources.Subscriptions system topic, reused (a second
// one cannot be created: https://learn.microsoft.com/azure/event-grid/system-topics). Nothing is
// changed on it; gallery-watch only adds its own event subscription.
//
// The topic must have a system-assigned managed identity: dead letters are written with it. If
// it has none, this deployment fails reading `identity.principalId`; enable it first (it does not
// affect the topic's other event subscriptions):
//   az resource update --ids <topic resource id> --set identity.type=SystemAssigned
// (use 'SystemAssigned,UserAssigned' if it already has user-assigned identities).
param topicName string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

output name string = topic.name
output principalId string = topic.identity.principalId
