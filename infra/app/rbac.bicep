// Every role assignment of the deployment. The Function App's managed identity gets data-plane roles on
// storage and may publish telemetry; the deploying user optionally gets the same storage roles for local
// debugging. Assignment names are deterministic so a redeploy updates instead of duplicating.

@description('Storage account the roles are scoped to.')
param storageAccountName string

@description('Application Insights component the telemetry role is scoped to.')
param applicationInsightsName string

@description('Principal (object) id of the Function App\'s user-assigned managed identity.')
param managedIdentityPrincipalId string

@description('Object id of the deploying user. Empty to skip the user\'s assignments.')
param userIdentityPrincipalId string = ''

@description('Give the deploying user the storage data roles too.')
param allowUserIdentityPrincipal bool = false

@description('Principal type of userIdentityPrincipalId: User, or ServicePrincipal when a pipeline deploys.')
@allowed([
  'User'
  'ServicePrincipal'
])
param userIdentityPrincipalType string = 'User'

// Built-in role definition ids.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner: host state, deployment packages
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor: proxy OAuth state
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor: host queues, SSE backplane
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher: Entra-authenticated telemetry

var storageRoleIds = [
  storageBlobDataOwnerRoleId
  storageTableDataContributorRoleId
  storageQueueDataContributorRoleId
]
var assignUser = allowUserIdentityPrincipal && !empty(userIdentityPrincipalId)

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource identityStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, managedIdentityPrincipalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: managedIdentityPrincipalId
      principalType: 'ServicePrincipal' // a managed identity is a service principal
    }
  }
]

resource identityTelemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, managedIdentityPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: if (assignUser) {
    name: guid(storage.id, userIdentityPrincipalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: userIdentityPrincipalId
      principalType: userIdentityPrincipalType
    }
  }
]
