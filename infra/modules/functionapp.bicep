// Flex Consumption plan and the Linux function app. Every app setting the code reads is set here under the name
// functions/config/settingsSchema.ts validates; test/infra checks the two lists stay equal.

param planName string
param appName string
param location string
param tags object
@description('azd finds the app to deploy to by this tag; it must equal the service name in azure.yaml.')
param serviceName string
param identityId string
param identityClientId string
@description('Endpoints of the transfer data account (storage.bicep).')
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
@description('Endpoints of the host account (hoststorage.bicep): AzureWebJobsStorage and the deployment package.')
param hostStorageBlobEndpoint string
param hostStorageQueueEndpoint string
param hostStorageTableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param keyVaultUri string
@description('Versionless URI of the client secret; empty with authMode app, which has none.')
param clientSecretUri string
@description('Versionless URI of the upload-URL seal key; authMode app only (delegated derives it from the client secret).')
param uploadUrlSealKeyUri string
@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int
param settings transferSettings

@description('Values main.bicep passes for the settings the code reads; names follow main.bicep parameters.')
type transferSettings = {
  sourceContainer: string
  sourcePrefix: string
  destDrive: string
  destFolder: string
  fragmentSizeMb: int
  conflictBehavior: 'replace' | 'rename' | 'fail'
  afterTransfer: 'keep' | 'delete' | 'archive'
  archiveContainer: string
  transferConcurrency: int
  ledgerTable: string
  authMode: 'delegated' | 'app'
  clientId: string
  tenant: string
  expectedAccount: string
  tokenSecretName: string
  transferSchedule: string
  transferQueue: string
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
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
    // Key Vault references (CLIENT_SECRET) resolve with this identity instead of a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorageBlobEndpoint}${deploymentContainerName}'
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

// FTP and SCM basic (user name and password) publishing off: azd deploys with an Entra token, and a publishing
// password would be a second, long-lived credential to the app's code.
resource ftpBasicPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// A separate resource so REDIRECT_URI can use the host name the site was given.
resource siteAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // The host's own account, where it holds its locks, keys and timer state.
    AzureWebJobsStorage__blobServiceUri: hostStorageBlobEndpoint
    AzureWebJobsStorage__queueServiceUri: hostStorageQueueEndpoint
    AzureWebJobsStorage__tableServiceUri: hostStorageTableEndpoint
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // DefaultAzureCredential (the Key Vault token cache) picks the user-assigned identity from this.
    AZURE_CLIENT_ID: identityClientId

    // The queue trigger's `connection: "SOURCE_STORAGE"` reads these as an identity-based connection.
    SOURCE_STORAGE__blobServiceUri: storageBlobEndpoint
    SOURCE_STORAGE__queueServiceUri: storageQueueEndpoint
    SOURCE_STORAGE__tableServiceUri: storageTableEndpoint
    SOURCE_STORAGE__credential: 'managedidentity'
    SOURCE_STORAGE__clientId: identityClientId
    SOURCE_CONTAINER: settings.sourceContainer
    SOURCE_PREFIX: settings.sourcePrefix
    DEST_DRIVE: settings.destDrive
    DEST_FOLDER: settings.destFolder
    FRAGMENT_SIZE_MB: string(settings.fragmentSizeMb)
    CONFLICT_BEHAVIOR: settings.conflictBehavior
    AFTER_TRANSFER: settings.afterTransfer
    ARCHIVE_CONTAINER: settings.archiveContainer
    TRANSFER_CONCURRENCY: string(settings.transferConcurrency)
    LEDGER_TABLE: settings.ledgerTable

    AUTH_MODE: settings.authMode
    // App mode: the identity above proves itself to the app registration through a federated credential.
    APP_CREDENTIAL: 'managed-identity'
    CLIENT_ID: settings.clientId
    CLIENT_SECRET: settings.authMode == 'app' ? '' : '@Microsoft.KeyVault(SecretUri=${clientSecretUri})'
    TENANT: settings.tenant
    REDIRECT_URI: 'https://${site.properties.defaultHostName}/api/auth/callback'
    EXPECTED_ACCOUNT: settings.expectedAccount
    KEY_VAULT_URL: keyVaultUri
    UPLOAD_URL_SEAL_KEY: settings.authMode == 'app' ? '@Microsoft.KeyVault(SecretUri=${uploadUrlSealKeyUri})' : ''
    TOKEN_SECRET_NAME: settings.tokenSecretName

    TRANSFER_SCHEDULE: settings.transferSchedule
    TRANSFER_QUEUE: settings.transferQueue

    // glibc reads these when the Node worker starts: keep freed memory instead of handing it back and faulting it in
    // again for every fragment (functions/config/settingsSchema.ts, MEMORY_ALLOCATOR_SETTINGS, says what they bought).
    MALLOC_TRIM_THRESHOLD_: '1073741824'
    MALLOC_MMAP_THRESHOLD_: '33554432'
    MALLOC_TOP_PAD_: '67108864'
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
