// Log Analytics and Application Insights. Local authentication (instrumentation key only) is disabled,
// so telemetry is accepted only with an Entra token: the Function App's managed identity, which holds
// Monitoring Metrics Publisher (see rbac.bicep).

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Region of both resources.')
param location string = resourceGroup().location

@description('Tags for both resources.')
param tags object = {}

@description('Days Log Analytics keeps data (30 is the free retention).')
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

@description('Action group the alerts notify (resource id); none: the alerts show in the portal only.')
param alertActionGroupId string = ''

// Alerts on the server's own metrics (api/src/core/telemetry.ts), which the Azure Monitor distro writes to
// the customMetrics table: each query sums a counter over the rule's window.
var alertActions = empty(alertActionGroupId) ? {} : { actionGroups: [alertActionGroupId] }

@description('A refresh token was presented again after rotation: someone may hold a stolen copy (the grant is revoked).')
resource refreshReplayAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-refresh-token-replay'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'MCP server: refresh-token replay'
    description: 'A rotated refresh token was presented again and its grant revoked (mcp.auth.refresh_replays): a token-theft signal. The server logs the correlation id of the sign-in ("token refused", refreshReplay).'
    severity: 1
    enabled: true
    scopes: [applicationInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "mcp.auth.refresh_replays" | summarize replays = sum(valueSum)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'replays'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: alertActions
  }
}

@description('On-Behalf-Of exchanges keep failing: Graph tools are down for users (consent, the federated credential, Entra).')
resource oboFailureAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-obo-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'MCP server: repeated On-Behalf-Of failures'
    description: 'More than 5 On-Behalf-Of exchanges failed in 15 minutes (mcp.obo.failures, by reason): check the federated credential, the managed identity, consent and Entra ID health.'
    severity: 2
    enabled: true
    scopes: [applicationInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "mcp.obo.failures" | extend reason = tostring(customDimensions["mcp.obo.failure_reason"]) | summarize failures = sum(valueSum) by reason'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'reason'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThan'
          threshold: 5
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: alertActions
  }
}

output logAnalyticsName string = logAnalytics.name
output applicationInsightsName string = applicationInsights.name
