// The "gallery-watch: first look" workbook over the app's Application Insights resource.
// serializedData is workbook.json (built from the .kql files by workbook.mjs).
// Resource type: https://learn.microsoft.com/azure/templates/microsoft.insights/workbooks?pivots=deployment-language-bicep

@description('Resource id of the Application Insights component the queries run against (Microsoft.Insights/components).')
param appInsightsId string

@description('Region of the workbook resource (usually the resource group\'s).')
param location string = resourceGroup().location

@description('Name shown in the portal\'s Workbooks gallery.')
param displayName string = 'gallery-watch: first look'

@description('Tags for the workbook resource (main.bicep passes the azd environment tags).')
param tags object = {}

// A workbook's name must be a GUID; derived, so redeployments update the same workbook.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsId, 'gallery-watch-first-look')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: loadTextContent('workbook.json')
    version: 'Notebook/1.0'
  }
}

output workbookId string = workbook.id
