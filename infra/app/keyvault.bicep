// The Teams webhook URLs (they carry a sig= secret) as Key Vault secrets. The app settings hold
// only Key Vault references to the versionless secret URI, so rotating a webhook is a new secret
// version, picked up within 24 hours or at the next restart:
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation
param name string
param location string
param tags object = {}
@description('gallery-watch\'s managed identity: resolves the Key Vault references.')
param principalId string
@secure()
param teamsWebhookUrl string
@secure()
param teamsCriticalWebhookUrl string = ''
param purgeProtection bool = true
@description('Person or pipeline running the gallery-watch CLI against Azure (it needs the webhook URL); empty for none.')
param operatorPrincipalId string = ''
param operatorPrincipalType string = 'User'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be switched off once on; `null` leaves it off (false is refused).
    enablePurgeProtection: purgeProtection ? true : null
  }
}

resource webhook 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: 'teams-webhook-url'
  properties: { value: teamsWebhookUrl, contentType: 'text/uri' }
}

resource criticalWebhook 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(teamsCriticalWebhookUrl)) {
  parent: vault
  name: 'teams-critical-webhook-url'
  properties: { value: teamsCriticalWebhookUrl, contentType: 'text/uri' }
}

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

// Key Vault Secrets User: the app resolves @Microsoft.KeyVault(...) references with its identity.
resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, secretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

resource operatorSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, secretsUser)
  scope: vault
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

output name string = vault.name
// Versionless: https://<vault>.vault.azure.net/secrets/<name>
output webhookSecretUri string = webhook.properties.secretUri
output criticalWebhookSecretUri string = criticalWebhook.?properties.secretUri ?? ''
