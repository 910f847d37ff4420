// Storage account of the Functions host alone: the deployment package (Flex Consumption's blobContainer) and
// AzureWebJobsStorage (host locks, timer schedule state, keys). The host needs Blob Data Owner over containers it
// creates itself, which Azure can only grant on the account; keeping that account apart from the transfer data means
// that role never reaches the source blobs or the ledger, whose rows hold upload URLs.

param name string
param location string
param tags object
param deploymentContainerName string
@description('Principal id of the user-assigned identity the function app runs as.')
param appPrincipalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Owner rather than Contributor: the host creates its own containers (azure-webjobs-hosts, azure-webjobs-secrets)
// and manages blob leases for singletons and the timer.
resource appHostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b') // Storage Blob Data Owner
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The host's own queues (blob-trigger receipts, diagnostics) live in AzureWebJobsStorage; nothing of the data.
resource appHostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88') // Storage Queue Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
