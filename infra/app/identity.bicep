// gallery-watch's user-assigned identity: ARM reads in the watched subscriptions, host storage,
// tables and queues, Key Vault references, Application Insights. A module because main.bicep is
// subscription-scoped and the identity lives in the app's resource group.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
