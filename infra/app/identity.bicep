// The user-assigned managed identity the Function App runs as. One identity does everything: storage and
// telemetry through RBAC, and the OBO client assertion through the Entra app's federated credential.

@description('Name of the managed identity.')
param name string

@description('Region of the managed identity.')
param location string = resourceGroup().location

@description('Tags for the managed identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, for the Function App\'s identity block and deployment storage authentication.')
output resourceId string = identity.id

@description('Client id: AzureWebJobsStorage__clientId, the App Insights authentication string, MANAGED_IDENTITY_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('Object (principal) id: role assignments and the subject of the federated identity credential.')
output principalId string = identity.properties.principalId

output name string = identity.name
