// The whole deployment for `azd up`: a Flex Consumption Function App running the MCP server (Hono on
// Azure Functions, Node 22), a Static Web App for the landing page, the Entra app registration the server
// signs users in with, and the storage and monitoring it needs. No secret is created or stored anywhere:
// the Function App proves itself to Entra with its user-assigned managed identity through a federated
// identity credential, and reaches storage and Application Insights with the same identity.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds the unique token in every resource name.')
param environmentName string

// The regions that offer Flex Consumption, as in Microsoft's Flex Consumption azd templates
// (Azure-Samples/functions-quickstart-typescript-azd and Azure-Samples/remote-mcp-functions-typescript,
// infra/main.bicep) and `az functionapp list-flexconsumption-locations`
// (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#view-currently-supported-regions).
// The canary region eastus2euap of those lists is left out: it takes no customer deployments.
@minLength(1)
@description('Region for all resources: one that offers Flex Consumption.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('How clients get tokens: `proxy` (the server is the OAuth authorization server in front of Entra; works with every MCP client) or `entra` (clients go to Entra themselves).')
@allowed([
  'proxy'
  'entra'
])
param authMode string = 'proxy'

@description('Static Web App plan for the landing page. Free costs nothing; Standard adds custom auth and an SLA.')
@allowed([
  'Free'
  'Standard'
])
param staticWebAppSku string = 'Free'

@description('Region of the Static Web App (a global service with a few regional control planes). Empty: the main location when it is one of them, else eastus2.')
param staticWebAppLocation string = ''

@description('Grant tenant-wide admin consent for User.Read, openid, profile and offline_access to the server app (ENTRA_GRANT_ADMIN_CONSENT). Needs a deployer allowed to grant consent (for example Privileged Role Administrator). Without it, the sign-in asks each user to consent to User.Read.')
param grantAdminConsent bool = false

@description('Comma-separated tenant ids whose users may call the server (ENTRA_ALLOWED_TENANTS). Empty: only the tenant the app is registered in, and the app registration is single-tenant. Naming any other tenant makes it multi-tenant, and the server refuses tokens from tenants not listed.')
param allowedTenants string = ''

@description('Service tree reference (ENTRA_SERVICE_MANAGEMENT_REFERENCE) that some tenants require on every app registration; they refuse to create one without it. Empty when not required.')
param serviceManagementReference string = ''

@description('Comma-separated client ids allowed to request the server\'s scope without a consent prompt (ENTRA_PREAUTHORIZED_CLIENT_IDS). Default: Visual Studio Code. Empty: none.')
param preAuthorizedClientIds string = 'aebc6443-996d-45c2-90f0-388ff96faa56'

@description('Comma-separated browser origins allowed to call the MCP endpoint, besides the server\'s own. Empty: none.')
param allowedOrigins string = ''

@description('Largest request body the server accepts, in bytes.')
@minValue(1024)
param maxBodyBytes int = 1048576

@description('Pre-registered proxy-mode clients as a JSON array of {client_id, client_name, redirect_uris}.')
param oauthClients string = '[]'

@description('Memory of each Function App instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most Function App instances Flex Consumption may scale out to (a cost ceiling).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Object id of the person running the deployment; gets data access to storage for local debugging. Empty to skip.')
param principalId string = deployer().objectId

@description('Principal type of principalId: User, or ServicePrincipal when a pipeline deploys.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Give the deploying user (principalId) the same storage data roles as the Function App, for local debugging against the real account.')
param allowUserIdentityPrincipal bool = true

// Optional name overrides; each one left empty gets a derived name.
param resourceGroupName string = ''
param apiServiceName string = ''
param apiUserAssignedIdentityName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param staticWebAppName string = ''
param entraAppUniqueName string = ''
param entraAppDisplayName string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// Names are computed up front: the Entra app needs the Function App's host name for its redirect URI
// before the Function App exists, and the Function App needs the Entra app's client id.
var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}api-${resourceToken}'
// The default host name of an App Service app in Azure public cloud. It is the server's PUBLIC_URL and
// the origin of the redirect URI registered in Entra, so both must come from this one value.
var functionAppHostName = '${functionAppName}.azurewebsites.net'
var apiBaseUrl = 'https://${functionAppHostName}'
var deploymentStorageContainerName = 'app-package-${take(resourceToken, 7)}'
var proxyStateTableName = 'mcpstate'
var staticWebAppRegions = [
  'westus2'
  'centralus'
  'eastus2'
  'westeurope'
  'eastasia'
]
// The tenants allowed to call the server, lower-cased; the home tenant alone when none are named.
var homeTenantId = toLower(tenant().tenantId)
var namedTenantIds = filter(map(split(allowedTenants, ','), t => toLower(trim(t))), t => !empty(t))
var allowedTenantIds = empty(namedTenantIds) ? [homeTenantId] : namedTenantIds
// Single-tenant unless another tenant's users must sign in (the server then enforces the `tid` list).
var entraSignInAudience = empty(filter(allowedTenantIds, t => t != homeTenantId))
  ? 'AzureADMyOrg'
  : 'AzureADMultipleOrgs'
var preAuthorizedClientIdList = filter(map(split(preAuthorizedClientIds, ','), c => trim(c)), c => !empty(c))
var webLocation = !empty(staticWebAppLocation) ? staticWebAppLocation : (contains(staticWebAppRegions, location) ? location : 'eastus2')

// All resources live in one resource group, so `azd down` removes everything but the Entra app.
resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// User-assigned managed identity of the Function App: it reads and writes storage, publishes telemetry,
// and its token is the client assertion of the OBO exchange (trusted by the app's federated credential).
module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

// Storage: the Functions host's own state, the deployment packages, and the proxy's OAuth state table.
module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentStorageContainerName
    tableNames: [
      proxyStateTableName
    ]
  }
}

// Log Analytics and Application Insights, with local (key) authentication disabled.
module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

// Every role assignment, in one place.
module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    managedIdentityPrincipalId: identity.outputs.principalId
    userIdentityPrincipalId: principalId
    userIdentityPrincipalType: principalType
    allowUserIdentityPrincipal: allowUserIdentityPrincipal
  }
}

// The server's Entra app registration (through the Microsoft Graph Bicep extension), its service principal,
// and the federated identity credential that lets the managed identity act as the app without a secret.
module entra './app/entra.bicep' = {
  name: 'entra'
  scope: rg
  params: {
    appUniqueName: !empty(entraAppUniqueName) ? entraAppUniqueName : 'mcp-server-${resourceToken}'
    appDisplayName: !empty(entraAppDisplayName) ? entraAppDisplayName : 'MCP server (${environmentName})'
    functionAppHostName: functionAppHostName
    managedIdentityPrincipalId: identity.outputs.principalId
    grantAdminConsent: grantAdminConsent
    signInAudience: entraSignInAudience
    serviceManagementReference: serviceManagementReference
    preAuthorizedClientIds: preAuthorizedClientIdList
  }
}

// The Flex Consumption plan and Function App that run the MCP server.
module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    appServicePlanName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    publicUrl: apiBaseUrl
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    authMode: authMode
    entraTenantId: tenant().tenantId
    entraClientId: entra.outputs.applicationId
    entraAppIdUri: entra.outputs.identifierUri
    entraScope: entra.outputs.scopeValue
    entraAuthorityHost: environment().authentication.loginEndpoint
    allowedTenants: join(allowedTenantIds, ',')
    graphBaseUrl: '${environment().graph}v1.0'
    graphAdminConsent: grantAdminConsent
    allowedOrigins: allowedOrigins
    maxBodyBytes: maxBodyBytes
    storageTableEndpoint: storage.outputs.tableEndpoint
    storageTableName: proxyStateTableName
    oauthClients: oauthClients
  }
  // The Function App starts pulling its package and writing host state as soon as it exists.
  dependsOn: [
    rbac
  ]
}

// The Static Web App that serves the landing page (`app/`).
module web './app/web.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: !empty(staticWebAppName) ? staticWebAppName : '${abbrs.webStaticSites}web-${resourceToken}'
    location: webLocation
    tags: tags
    sku: staticWebAppSku
  }
}

// Outputs: azd writes them into the environment (.azure/<env>/.env); the postprovision hook reads them.
// Nothing here is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output API_BASE_URL string = apiBaseUrl
output MCP_ENDPOINT string = '${apiBaseUrl}/api/mcp'
output LANDING_PAGE_URL string = web.outputs.url
output AUTH_MODE string = authMode
output ENTRA_CLIENT_ID string = entra.outputs.applicationId
output ENTRA_APP_ID_URI string = entra.outputs.identifierUri
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_WEB_NAME string = web.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_STORAGE_TABLE_NAME string = proxyStateTableName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
