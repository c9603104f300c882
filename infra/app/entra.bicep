// The server's Entra ID app registration, through the Microsoft Graph Bicep extension:
// - exposes the delegated scope `user_impersonation` under the App ID URI `api://<appId>`, v2 tokens;
// - pre-authorizes VS Code so it can get a token for the server without a consent prompt (Entra mode);
// - asks for the delegated Microsoft Graph permissions the tools declare (graph-permissions.json): each
//   tool's OBO exchange turns the user's token into a Graph token for exactly its permissions;
// - registers the proxy's callback `https://<function host>/oauth/callback` (proxy mode), the page
//   Entra returns to after the Graph consent link (`/oauth/consent-complete`, shown on the landing page
//   and in `consent_required` tool errors), and the Connected apps page's own sign-in return
//   (`/connected-apps/callback`);
// - declares the app role `MCP.Admin` (assigned to users): its holders list and revoke anyone's grants
//   on the Connected apps page and at `/api/admin/grants` (Entra puts it in the token's `roles`);
// - trusts the Function App's managed identity through a federated identity credential: the identity's
//   token is the client assertion, so the app has no client secret and no certificate.
// Admin consent for the whole tenant is optional (grantAdminConsent).
extension microsoftGraphV1

@description('Unique name of the app registration (its idempotent key in the tenant).')
param appUniqueName string

@description('Display name of the app registration.')
param appDisplayName string

@description('Host name of the Function App (`<name>.azurewebsites.net`): origin of the proxy\'s redirect URI.')
param functionAppHostName string

@description('Principal (object) id of the managed identity the federated credential trusts.')
param managedIdentityPrincipalId string

@description('Grant tenant-wide admin consent for the Graph permissions the server needs.')
param grantAdminConsent bool = false

@description('Who can sign in: AzureADMyOrg (this tenant) or AzureADMultipleOrgs (other tenants too; the server keeps its own allow-list of tenants).')
@allowed([
  'AzureADMyOrg'
  'AzureADMultipleOrgs'
])
param signInAudience string = 'AzureADMyOrg'

@description('Service tree reference some tenants require on every app registration. Empty when not required.')
param serviceManagementReference string = ''

@description('Client ids allowed to request the scope without a consent prompt.')
param preAuthorizedClientIds array = [
  'aebc6443-996d-45c2-90f0-388ff96faa56' // Visual Studio Code
]

@description('The delegated scope the API exposes.')
param scopeValue string = 'user_impersonation'

// Microsoft Graph and the delegated permissions the server uses, generated from the tools' declarations
// (`npm run permissions -- --write`; a test fails when this file and the tools disagree): the tools' Graph
// permissions, and `openid profile offline_access` for the proxy's sign-in.
var graphAppId = '00000003-0000-0000-c000-000000000000' // Microsoft Graph
var graphPermissions = loadJsonContent('graph-permissions.json')

// Deterministic id of the exposed scope, stable across redeployments.
var scopeId = guid(appUniqueName, 'oauth2PermissionScope', scopeValue)

// Bicep allows a `for` expression only as the whole value of a variable, output or resource property
// (BCP138), so the pre-authorized clients get a variable of their own.
var preAuthorizedApplications = [
  for clientId in preAuthorizedClientIds: {
    appId: clientId
    delegatedPermissionIds: [
      scopeId
    ]
  }
]

// Deterministic id of the administrators' app role, stable across redeployments.
var adminRoleId = guid(appUniqueName, 'appRole', 'MCP.Admin')
var appRoles = [
  {
    id: adminRoleId
    value: 'MCP.Admin'
    displayName: 'MCP server administrator'
    description: 'Lists and revokes any user\'s connected apps (grants) on the MCP server.'
    allowedMemberTypes: [
      'User'
    ]
    isEnabled: true
  }
]

var apiSettings = {
  requestedAccessTokenVersion: 2
  oauth2PermissionScopes: [
    {
      id: scopeId
      value: scopeValue
      type: 'User'
      isEnabled: true
      adminConsentDisplayName: 'Use the MCP server as the signed-in user'
      adminConsentDescription: 'Allows the app to call the MCP server, and the MCP server to read the signed-in user\'s profile from Microsoft Graph, on behalf of the signed-in user.'
      userConsentDisplayName: 'Use the MCP server as you'
      userConsentDescription: 'Allows the app to call the MCP server, and the MCP server to read your profile from Microsoft Graph, on your behalf.'
    }
  ]
  preAuthorizedApplications: preAuthorizedApplications
}

var webSettings = {
  redirectUris: [
    'https://${functionAppHostName}/oauth/callback'
    'https://${functionAppHostName}/oauth/consent-complete'
    'https://${functionAppHostName}/connected-apps/callback'
  ]
  implicitGrantSettings: {
    enableAccessTokenIssuance: false
    enableIdTokenIssuance: false
  }
}

var requiredGraphAccess = graphPermissions.requiredResourceAccess

// First pass: creates the registration. Its appId is assigned by Entra, so the App ID URI
// `api://<appId>` can only be set once it exists (second pass below).
resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: signInAudience
  serviceManagementReference: !empty(serviceManagementReference) ? serviceManagementReference : null
  api: apiSettings
  appRoles: appRoles
  web: webSettings
  requiredResourceAccess: requiredGraphAccess
}

// Second pass: the same registration (same uniqueName) with its App ID URI. `api://<appId>` is the form
// every tenant accepts (custom api:// URIs are blocked by the default app management policy).
resource appIdentifierUri 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: signInAudience
  serviceManagementReference: !empty(serviceManagementReference) ? serviceManagementReference : null
  identifierUris: [
    'api://${app.appId}'
  ]
  api: apiSettings
  appRoles: appRoles
  web: webSettings
  requiredResourceAccess: requiredGraphAccess
}

// The app's service principal in this tenant: users sign in to it and consent is granted to it.
resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
}

// Trust the Function App's managed identity: a token it gets for `api://AzureADTokenExchange` is accepted
// as this app's client assertion (OBO and the proxy's code redemption). No client secret exists.
resource managedIdentityCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = {
  name: '${appUniqueName}/function-app-managed-identity'
  description: 'The MCP server Function App\'s user-assigned managed identity acts as this app.'
  issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  subject: managedIdentityPrincipalId
  audiences: [
    'api://AzureADTokenExchange'
  ]
  dependsOn: [
    appIdentifierUri
  ]
}

// Optional tenant-wide admin consent (consentType AllPrincipals) for the Graph permissions above, so users
// are never prompted. Off by default: it needs a privileged deployer and is a tenant-wide decision.
resource graphServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource adminConsent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = if (grantAdminConsent) {
  clientId: servicePrincipal.id
  consentType: 'AllPrincipals'
  resourceId: graphServicePrincipal.id
  scope: graphPermissions.adminConsentScope
}

@description('Application (client) id: ENTRA_CLIENT_ID, and the audience of v2 tokens for the server.')
output applicationId string = app.appId

@description('Object id of the app registration.')
output applicationObjectId string = app.id

@description('Object id of the app\'s service principal.')
output servicePrincipalId string = servicePrincipal.id

@description('App ID URI clients request the scope under: ENTRA_APP_ID_URI.')
output identifierUri string = 'api://${app.appId}'

@description('The exposed delegated scope, bare: ENTRA_SCOPE.')
output scopeValue string = scopeValue

@description('The redirect URI registered for the proxy\'s callback.')
output redirectUri string = 'https://${functionAppHostName}/oauth/callback'
