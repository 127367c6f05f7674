// The function app on Flex Consumption (Node 22), with a user-assigned identity for everything:
// host storage, tables and queues, Key Vault references, Application Insights, ARM reads.
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
param name string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageName string
param deploymentContainerUrl string
param appInsightsConnectionString string
@description('GW_* settings (README.md "Settings"); secrets as Key Vault references. Built in main.bicep.')
param appSettings object
@description('Put App Service authentication (Entra ID) in front of the app.')
param enableEntraAuth bool = false
@description('Application (client) id of the app registration that represents the API; required with enableEntraAuth.')
param entraClientId string = ''

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd deploy finds the app by this tag (azure.yaml service `api`).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identityId}': {} } }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled' }
  }

  // Flex Consumption rejects the classic runtime settings (FUNCTIONS_WORKER_RUNTIME,
  // WEBSITE_NODE_DEFAULT_VERSION, WEBSITE_RUN_FROM_PACKAGE...): functionAppConfig carries them.
  // https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, {
      // Identity-based host storage with a user-assigned identity:
      // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
      AzureWebJobsStorage__accountName: storageName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      // DefaultAzureCredential (ARM reads, tables, queues, blobs) picks the user-assigned identity.
      AZURE_CLIENT_ID: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
      // Entra ID auth to Application Insights (local auth is disabled in monitoring.bicep):
      // https://learn.microsoft.com/azure/azure-functions/configure-monitoring#enable-microsoft-entra-authentication
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
      // With App Service authentication in front, the HTTP API is registered anonymous (no function key):
      // the token is the credential (functions/index.ts httpAuthLevel).
      GW_ENABLE_ENTRA_AUTH: string(enableEntraAuth)
      GW_ENTRA_CLIENT_ID: entraClientId
    })
  }

  // App Service authentication ("Easy Auth") v2 with Entra ID, as an option: requests without a
  // valid token for the app registration get 401 before they reach the Functions host.
  // https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad
  // Callers request a token for `api://<entraClientId>/.default`; tokens carry either the App ID
  // URI (v1) or the client id (v2) as audience, so both are accepted.
  resource auth 'config' = if (enableEntraAuth) {
    name: 'authsettingsV2'
    properties: {
      platform: { enabled: true }
      globalValidation: {
        requireAuthentication: true
        unauthenticatedClientAction: 'Return401'
        // Event Grid delivers to the Event Grid extension's webhook with its system key, and the
        // admin API (manual runs of timer functions) takes the master key; neither can present an
        // Entra token. Both stay protected by the Functions host's keys.
        excludedPaths: [ '/runtime/webhooks/eventgrid', '/admin' ]
      }
      httpSettings: { requireHttps: true }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            clientId: entraClientId
            openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          }
          validation: {
            allowedAudiences: [ 'api://${entraClientId}', entraClientId ]
          }
        }
      }
      login: { tokenStore: { enabled: false } }
    }
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
