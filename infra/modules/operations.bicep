// What an operator looks at and is woken by: a workbook over the app's telemetry, and optional log alerts with an
// e-mail action group. The alerts are scheduled query rules over the component's customMetrics/customEvents, not
// metric alerts: the app's metrics reach Application Insights as log-based custom metrics, and "no upload for N
// hours while blobs are pending" combines two signals, which only a query can.

param applicationInsightsName string
param location string
param tags object

@description('Address the alerts e-mail; empty deploys no action group and no alert rule.')
param alertEmail string

param alertOnRelinkNeeded bool
param alertOnPoisonMessage bool
param alertOnStalledTransfers bool

@minValue(1)
@maxValue(48)
param stalledTransferHours int

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var workbookDefinition = replace(loadTextContent('../monitoring/transfers.workbook.json'), '__APPLICATION_INSIGHTS_ID__', applicationInsights.id)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; this one is stable per component, so a redeploy updates it in place.
  name: guid(applicationInsights.id, 'onedrive-connector-transfers-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'OneDrive connector: transfers'
    category: 'workbook'
    serializedData: workbookDefinition
    sourceId: applicationInsights.id
  }
}

var alertsWanted = !empty(alertEmail)
var actionGroupName = 'ag-onedrive-${uniqueString(applicationInsights.id)}'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (alertsWanted) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'onedrive'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var alertRules = [
  {
    key: 'relink-needed'
    enabled: alertOnRelinkNeeded
    displayName: 'OneDrive connector: relink needed'
    description: 'The OneDrive sign-in is gone: no transfer can run until a person opens /api/auth/login and signs in again.'
    severity: 1
    query: loadTextContent('../monitoring/alerts/relink-needed.kql')
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
  }
  {
    key: 'poison-message'
    enabled: alertOnPoisonMessage
    displayName: 'OneDrive connector: message in the poison queue'
    description: 'A transfer failed on every attempt and its message was moved to the poison queue; the workbook\'s last failures say why.'
    severity: 2
    query: loadTextContent('../monitoring/alerts/poison-message.kql')
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
  }
  {
    key: 'stalled-transfers'
    enabled: alertOnStalledTransfers
    displayName: 'OneDrive connector: no upload for ${stalledTransferHours} h while blobs are pending'
    description: 'Blobs are waiting and no file finished uploading in ${stalledTransferHours} hours: check the link, throttling and the last failures.'
    severity: 2
    query: loadTextContent('../monitoring/alerts/stalled-transfers.kql')
    evaluationFrequency: 'PT1H'
    windowSize: 'PT${stalledTransferHours}H'
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in alertRules: if (alertsWanted && rule.enabled) {
  dependsOn: [
    actionGroup
  ]
  name: 'alert-onedrive-${rule.key}-${uniqueString(applicationInsights.id)}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        resourceId('Microsoft.Insights/actionGroups', actionGroupName)
      ]
    }
  }
}]

output workbookId string = workbook.id
