// Entry point for `azd up`: one resource group holding the function app on Flex Consumption, its storage,
// Key Vault, Event Grid wiring and monitoring. Plain resources only: registry modules (br/public:) need a
// `bicep restore` from the network, and this template must build offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (a region that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the user running azd; gets data access for the CLI. Empty grants nothing.')
param principalId string = ''

@description('Gives principalId Key Vault Secrets Officer on the token-cache secret, for `npm run login` with KEY_VAULT_URL. Off by default: that role reads the refresh token. README "Link OneDrive" shows a one-off grant and its removal instead.')
param grantDeployerTokenCacheAccess bool = false

@description('Kind of principal principalId is; ServicePrincipal when azd runs in a pipeline.')
@allowed([ 'User', 'ServicePrincipal' ])
param principalType string = 'User'

@allowed([ 'delegated', 'app' ])
@description('delegated: a person links their OneDrive by signing in (client secret and token cache in Key Vault). app: the app uploads as itself, its managed identity federated to the app registration: no secret, no sign-in, no refresh token; an administrator runs the commands in the APP_ONLY_* outputs once.')
param authMode string = 'delegated'

@minLength(1)
@description('Application (client) id of the app registration (Web platform).')
param clientId string

@secure()
@description('authMode delegated only: client secret of the app registration, stored in Key Vault only. Leave empty with authMode app.')
param clientSecret string = ''

@description('authMode delegated only: the only OneDrive account (UPN or email) that may be linked. Unused with authMode app.')
param expectedAccount string = ''

@minLength(1)
@description('TENANT setting: consumers for a personal Microsoft account, or the tenant id (GUID) of a work or school account. EXPECTED_ACCOUNT is only accepted with one of these, and every link is locked to that tenant. authMode app needs the tenant id.')
param signInTenant string

@minLength(3)
@maxLength(63)
param sourceContainer string = 'outbox'

@description('Only blobs under this prefix are transferred; empty = the whole container.')
param sourcePrefix string = ''

@minLength(1)
@description('Drive the files go to: me (the signed-in account\'s OneDrive), drive:<drive id>, user:<UPN or object id>, or a SharePoint document library URL as the browser shows it.')
param destDrive string = 'me'

@minLength(1)
@description('OneDrive folder the files land under, created when missing. The drive root only when asked for with \'/\'.')
param destFolder string = 'From Azure'

@minValue(1)
@maxValue(60)
param fragmentSizeMb int = 10

@allowed([ 'replace', 'rename', 'fail' ])
param conflictBehavior string = 'replace'

@allowed([ 'keep', 'delete', 'archive' ])
param afterTransfer string = 'keep'

@minLength(3)
@maxLength(63)
param archiveContainer string = 'archive'

@minValue(1)
@maxValue(365)
@description('Days a deleted or overwritten source blob stays recoverable (blob soft delete), so AFTER_TRANSFER=delete can be undone.')
param blobSoftDeleteRetentionDays int = 7

@minValue(1)
@maxValue(64)
param transferConcurrency int = 4

@description('NCRONTAB (six fields) of the sweep; Flex Consumption runs it in UTC.')
param transferSchedule string = '0 */15 * * * *'

@minLength(3)
@maxLength(57)
@description('Transfer queue; the poison queue is this name plus -poison, so at most 57 characters.')
param transferQueue string = 'onedrive-transfers'

@minLength(3)
@maxLength(63)
param ledgerTable string = 'onedrivetransfers'

@minLength(1)
@maxLength(127)
param tokenSecretName string = 'onedrive-token-cache'

@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 2048

// Flex Consumption accepts 1 to 1000 (event-driven-scaling, "Limit scale-out"); the plan's own default is 100.
@minValue(1)
@maxValue(1000)
@description('Most instances each function group (the queue worker, HTTP, the sweep) may scale to. OneDrive takes about 50 GB an hour from one user under delegated sign-in (400 GB an hour per app), and one instance already runs up to six transfers at once (host.json), enough to reach that: more instances only collect 429/503 throttling and bill memory-seconds while they wait. 2 keeps a second instance for while one is busy with a large file; raise it only after measuring that instances, not OneDrive, set the pace.')
param maximumInstanceCount int = 2

@minValue(1)
@maxValue(100)
@description('Daily ingestion cap of the Log Analytics workspace, in GB (Application Insights data included). Past it, telemetry is dropped until the daily reset: a runaway log loop costs at most this much a day.')
param logDailyCapGb int = 1

@description('E-mail address for the alerts (relink needed, poison queue, stalled transfers). Empty deploys the workbook only, with no action group and no alert rule.')
param alertEmail string = ''

@description('Alert when the OneDrive sign-in must be renewed (needs alertEmail).')
param alertOnRelinkNeeded bool = true

@description('Alert when a message reaches the poison queue (needs alertEmail).')
param alertOnPoisonMessage bool = true

@description('Alert when no file finished uploading for stalledTransferHours while blobs are pending (needs alertEmail).')
param alertOnStalledTransfers bool = true

@minValue(1)
@maxValue(48)
@description('Hours without a finished upload, while blobs are pending, before the stalled-transfers alert fires.')
param stalledTransferHours int = 6

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'api'
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var clientSecretName = 'onedrive-client-secret'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module hostStorage 'modules/hoststorage.bicep' = {
  name: 'hoststorage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}host${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    blobSoftDeleteRetentionDays: blobSoftDeleteRetentionDays
    sourceContainerName: sourceContainer
    archiveContainerName: archiveContainer
    transferQueueName: transferQueue
    ledgerTableName: ledgerTable
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    authMode: authMode
    // Without a default azd would ask for a secret in app mode too; delegated mode still cannot deploy without one.
    clientSecret: authMode == 'app' || !empty(clientSecret) ? clientSecret : fail('clientSecret is required with authMode delegated: set it with azd env set ONEDRIVE_CLIENT_SECRET (README, "azd up"), or deploy with AUTH_MODE=app')
    clientSecretName: clientSecretName
    tokenSecretName: tokenSecretName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    grantUserTokenCacheAccess: grantDeployerTokenCacheAccess
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    dailyCapGb: logDailyCapGb
  }
}

module operations 'modules/operations.bicep' = {
  name: 'operations'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
    alertOnRelinkNeeded: alertOnRelinkNeeded
    alertOnPoisonMessage: alertOnPoisonMessage
    alertOnStalledTransfers: alertOnStalledTransfers
    stalledTransferHours: stalledTransferHours
  }
}

// The topic, its identity and its role on the queue come early; the subscription (eventSubscription below) waits for
// the function app so that the role has taken effect when Event Grid checks it.
module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    transferQueueName: storage.outputs.transferQueueName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    appName: functionAppName
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    hostStorageBlobEndpoint: hostStorage.outputs.blobEndpoint
    hostStorageQueueEndpoint: hostStorage.outputs.queueEndpoint
    hostStorageTableEndpoint: hostStorage.outputs.tableEndpoint
    deploymentContainerName: hostStorage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    clientSecretUri: keyVault.outputs.clientCredentialUri
    uploadUrlSealKeyUri: keyVault.outputs.uploadUrlSealKeyUri
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    settings: {
      sourceContainer: storage.outputs.sourceContainerName
      sourcePrefix: sourcePrefix
      destDrive: destDrive
      destFolder: destFolder
      fragmentSizeMb: fragmentSizeMb
      conflictBehavior: conflictBehavior
      afterTransfer: afterTransfer
      archiveContainer: storage.outputs.archiveContainerName
      transferConcurrency: transferConcurrency
      ledgerTable: storage.outputs.ledgerTableName
      authMode: authMode
      clientId: clientId
      tenant: signInTenant
      expectedAccount: authMode == 'app' || length(expectedAccount) >= 3 ? expectedAccount : fail('expectedAccount is required with authMode delegated: azd env set EXPECTED_ACCOUNT <the only account that may be linked>')
      tokenSecretName: keyVault.outputs.tokenSecretName
      transferSchedule: transferSchedule
      transferQueue: storage.outputs.transferQueueName
    }
  }
}

module eventSubscription 'modules/eventsubscription.bicep' = {
  name: 'eventsubscription'
  scope: rg
  // Not a data dependency: creating the function app takes minutes, the time a new role assignment needs to take
  // effect before Event Grid validates the subscription's identity against the queue.
  dependsOn: [
    functionApp
  ]
  params: {
    systemTopicName: eventGrid.outputs.systemTopicName
    storageAccountName: storage.outputs.name
    sourceContainerName: storage.outputs.sourceContainerName
    sourcePrefix: sourcePrefix
    transferQueueName: storage.outputs.transferQueueName
  }
}

// azd reads these into .azure/<env>/.env; the CLI can use the storage and vault ones with the developer's sign-in.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output REDIRECT_URI string = 'https://${functionApp.outputs.defaultHostName}/api/auth/callback'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output SOURCE_STORAGE__blobServiceUri string = storage.outputs.blobEndpoint
output SOURCE_STORAGE__queueServiceUri string = storage.outputs.queueEndpoint
output SOURCE_STORAGE__tableServiceUri string = storage.outputs.tableEndpoint
output SOURCE_CONTAINER string = storage.outputs.sourceContainerName
output TRANSFER_QUEUE string = storage.outputs.transferQueueName
output LEDGER_TABLE string = storage.outputs.ledgerTableName
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.systemTopicName

// authMode app: what an administrator runs once, printed by the postprovision hook in azure.yaml. Bicep cannot create
// a federated credential on an app registration without the Microsoft Graph extension, which the offline checks in
// test/infra cannot load, so the template prints the command instead.
var federatedCredentialParameters = {
  name: 'onedrive-connector-${environmentName}'
  issuer: 'https://login.microsoftonline.com/${signInTenant}/v2.0'
  subject: identity.outputs.principalId
  audiences: [ 'api://AzureADTokenExchange' ]
}
var siteGrantBody = {
  roles: [ 'write' ]
  grantedToIdentities: [ { application: { id: clientId, displayName: 'onedrive-connector' } } ]
}
output AUTH_MODE string = authMode
output APP_ONLY_FEDERATED_CREDENTIAL_COMMAND string = authMode == 'app' ? 'az ad app federated-credential create --id ${clientId} --parameters \'${string(federatedCredentialParameters)}\'' : ''
// The site id comes from the library's site path: replace <host> and <site path> (e.g. contoso.sharepoint.com and
// sites/Finance). Sites.Selected only; Files.ReadWrite.All and Sites.ReadWrite.All need no grant.
output APP_ONLY_SITE_GRANT_COMMAND string = authMode == 'app' ? 'SITE_ID=$(az rest --method get --url "https://graph.microsoft.com/v1.0/sites/<host>:/<site path>?$select=id" --query id -o tsv) && az rest --method post --url "https://graph.microsoft.com/v1.0/sites/$SITE_ID/permissions" --body \'${string(siteGrantBody)}\'' : ''
