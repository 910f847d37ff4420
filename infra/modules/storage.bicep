// Storage account for the transfer data: blobs in, queue of work, ledger table. The Functions host and the
// deployment package live in hoststorage.bicep's account, so the app's broad host roles never reach this data.
// Shared keys are off, so every client (the app, Event Grid, the deploying user) authenticates with Entra ID.

param name string
param location string
param tags object
param sourceContainerName string
param archiveContainerName string
param transferQueueName string
param ledgerTableName string
@minValue(1)
@maxValue(365)
@description('Days a deleted or overwritten blob stays recoverable (blob soft delete), so AFTER_TRANSFER=delete can be undone.')
param blobSoftDeleteRetentionDays int
@description('Principal id of the user-assigned identity the function app runs as.')
param appPrincipalId string
@description('Object id of the deploying user or service principal; empty grants nothing.')
param userPrincipalId string
@allowed([ 'User', 'ServicePrincipal' ])
param userPrincipalType string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  // Event Grid system topics need general-purpose v2.
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
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteRetentionDays
    }
  }
}

resource sourceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: sourceContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource transferQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: transferQueueName
}

// The Functions host moves a message here after maxDequeueCount failures; creating it up front lets an operator
// watch it (and the deploying user read it) before the first failure.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${transferQueueName}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: ledgerTableName
}

// Contributor, not Owner, and only on the two containers the app reads, deletes and archives blobs in.
resource appSourceBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sourceContainer.id, appPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: sourceContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe') // Storage Blob Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appArchiveBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archiveContainer.id, appPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: archiveContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe') // Storage Blob Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The queue trigger reads and deletes on the transfer queue and moves failed messages to the poison queue.
resource appTransferQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(transferQueue.id, appPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: transferQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88') // Storage Queue Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appPoisonQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, appPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: poisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88') // Storage Queue Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appLedgerTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(ledgerTable.id, appPrincipalId, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: ledgerTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3') // Storage Table Data Contributor
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deploying user gets data access so the CLI (`npm run transfer`) and test uploads work against this account
// with their own sign-in; azd itself deploys through the control plane and needs none of these.
resource userBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe') // Storage Blob Data Contributor
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88') // Storage Queue Data Contributor
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3') // Storage Table Data Contributor
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output transferQueueName string = transferQueue.name
output poisonQueueName string = poisonQueue.name
output ledgerTableName string = ledgerTable.name
output sourceContainerName string = sourceContainer.name
output archiveContainerName string = archiveContainer.name
