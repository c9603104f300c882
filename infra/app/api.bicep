// The MCP server: a Flex Consumption Function App (Linux, Node 22) running the Hono router, and its plan.
// It runs as a user-assigned managed identity: storage, telemetry and the OBO client assertion all use it,
// so no app setting holds a key, a password or a connection string with a key.

@description('Function App name; its default host name `<name>.azurewebsites.net` is the server\'s origin.')
param name string

@description('Region of the plan and the Function App.')
param location string = resourceGroup().location

@description('Tags for the plan and the Function App.')
param tags object = {}

@description('azd service name: `azd deploy` finds the Function App by this tag.')
param serviceName string = 'api'

@description('Flex Consumption plan name.')
param appServicePlanName string

@description('Origin clients reach the server at (PUBLIC_URL), `https://<name>.azurewebsites.net`.')
param publicUrl string

@description('Storage account for the Functions host (AzureWebJobsStorage) and the deployment packages.')
param storageAccountName string

@description('Blob container that holds the deployment packages.')
param deploymentStorageContainerName string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of that managed identity.')
param identityClientId string

@description('Application Insights component the app sends telemetry to.')
param applicationInsightsName string

@description('Memory of each instance, in MB.')
param instanceMemoryMB int = 2048

@description('Most instances the app may scale out to.')
param maximumInstanceCount int = 40

// The server's own settings: one parameter each, named after the setting (api/src/config.ts, SETTINGS).
@description('AUTH_MODE: proxy or entra.')
param authMode string

@description('ENTRA_TENANT_ID: tenant of the server\'s app registration.')
param entraTenantId string

@description('ENTRA_CLIENT_ID: application (client) id of the server\'s app registration.')
param entraClientId string

@description('ENTRA_APP_ID_URI: App ID URI clients request scopes under.')
param entraAppIdUri string

@description('ENTRA_SCOPE: the delegated scope the API exposes.')
param entraScope string = 'user_impersonation'

@description('ENTRA_AUTHORITY_HOST: the Entra ID login host of this cloud.')
param entraAuthorityHost string

@description('ENTRA_ALLOWED_TENANTS: comma-separated tenant ids whose users may call the server.')
param allowedTenants string

@description('GRAPH_BASE_URL: Microsoft Graph v1.0 base URL of this cloud.')
param graphBaseUrl string

@description('GRAPH_ADMIN_CONSENT: an administrator granted the Graph permissions for the tenant, so the sign-in does not ask users for them.')
param graphAdminConsent bool = false

@description('ALLOWED_ORIGINS: extra browser origins allowed to call the MCP endpoint.')
param allowedOrigins string = ''

@description('MAX_BODY_BYTES: largest request body accepted, in bytes.')
param maxBodyBytes int = 1048576

@description('STORAGE_TABLE_ENDPOINT: table service endpoint for proxy-mode state (reached with the managed identity).')
param storageTableEndpoint string

@description('STORAGE_TABLE_NAME: the table that holds proxy-mode state.')
param storageTableName string = 'mcpstate'

@description('OAUTH_CLIENTS: pre-registered proxy-mode clients, as a JSON array.')
param oauthClients string = '[]'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Flex Consumption: billed per execution and per GB-s, scales to zero, nothing to pay when idle.
resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: appServicePlanName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// App settings, set once the app exists (so PUBLIC_URL needs no self-reference). Two groups:
// the platform's (host storage and telemetry through the managed identity) and the server's own
// (exactly the SETTINGS of api/src/config.ts; the infra tests compare the two lists).
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Functions host storage, reached with the managed identity instead of a connection string.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Application Insights with Entra authentication (local auth is disabled on the component).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // The server's settings.
    AUTH_MODE: authMode
    PUBLIC_URL: publicUrl
    ENTRA_TENANT_ID: entraTenantId
    ENTRA_CLIENT_ID: entraClientId
    ENTRA_APP_ID_URI: entraAppIdUri
    ENTRA_SCOPE: entraScope
    ENTRA_AUTHORITY_HOST: entraAuthorityHost
    // Browsers sign in at the same host in Azure (the local emulator serves its pages on loopback HTTP).
    ENTRA_BROWSER_AUTHORITY_HOST: entraAuthorityHost
    ENTRA_ALLOWED_TENANTS: allowedTenants
    MANAGED_IDENTITY_CLIENT_ID: identityClientId
    GRAPH_BASE_URL: graphBaseUrl
    GRAPH_ADMIN_CONSENT: graphAdminConsent ? 'true' : 'false' // not string(): ARM writes booleans as True/False
    ALLOWED_ORIGINS: allowedOrigins
    MAX_BODY_BYTES: string(maxBodyBytes)
    STORAGE_TABLE_ENDPOINT: storageTableEndpoint
    STORAGE_TABLE_NAME: storageTableName
    OAUTH_CLIENTS: oauthClients
    // Loopback client ID metadata documents are for local testing only; never in Azure.
    CIMD_ALLOW_LOOPBACK_HTTP: 'false'
  }
}

// No publishing with user names and passwords: azd deploys with Entra ID.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
