// The findings feed (enableFindingsTopic): an Event Grid custom topic taking CloudEvents 1.0,
// with local (key) auth off so only Entra ID publishes, "EventGrid Data Sender" for the app's
// identity ("Authenticate publishing clients using Microsoft Entra ID", Event Grid docs), and
// optionally an event subscription delivering every event to an Event Hub (findingsEventHubId),
// from which Microsoft Sentinel or another SIEM ingests them (infra/README.md "Findings feed").

param name string
param location string
param tags object

@description('Principal id of the app\'s identity: it publishes the events.')
param principalId string

@description('Resource id of an Event Hub (…/namespaces/<ns>/eventhubs/<hub>) to route every event to; empty: no event subscription.')
param eventHubId string = ''

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// EventGrid Data Sender (d5a91429-5739-47e2-a06b-3470a27159e7): publish events to the topic, nothing else.
resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, 'd5a91429-5739-47e2-a06b-3470a27159e7')
  scope: topic
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'd5a91429-5739-47e2-a06b-3470a27159e7')
  }
}

// Every finding event, as CloudEvents 1.0, to the Event Hub (the deployer needs rights on it).
resource toEventHub 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = if (!empty(eventHubId)) {
  parent: topic
  name: 'findings-to-event-hub'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    destination: {
      endpointType: 'EventHub'
      properties: {
        resourceId: eventHubId
      }
    }
    filter: {
      subjectBeginsWith: ''
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output endpoint string = topic.properties.endpoint
output id string = topic.id
