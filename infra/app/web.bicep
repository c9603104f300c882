// The Static Web App that serves the landing page. It hosts static files only: the MCP server is a
// standalone Function App because SWA's managed functions overwrite the Authorization header, have no
// managed identity and cut requests at 45 s (see the README).

@description('Static Web App name.')
param name string

@description('Region of the Static Web App control plane (westus2, centralus, eastus2, westeurope or eastasia).')
param location string

@description('Tags for the Static Web App.')
param tags object = {}

@description('azd service name: `azd deploy` finds the resource by this tag.')
param serviceName string = 'web'

@description('Plan: Free or Standard.')
@allowed([
  'Free'
  'Standard'
])
param sku string = 'Free'

resource web 'Microsoft.Web/staticSites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  sku: {
    name: sku
    tier: sku
  }
  properties: {
    provider: 'Custom' // deployed by azd through the SWA CLI, not a linked repository
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
  }
}

output name string = web.name
output url string = 'https://${web.properties.defaultHostname}'
