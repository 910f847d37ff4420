// The Event Grid system topic on the storage account, its identity and that identity's right to send to the transfer
// queue. The subscription that routes blob-created events to the queue is a separate module (eventsubscription.bicep)
// that main.bicep deploys after the function app: see there for why it must wait.

param name string
param location string
param tags object
param storageAccountName string
param transferQueueName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource transferQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: transferQueueName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  // Shared keys are disabled on the account, so Event Grid must write to the queue with its own identity.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Scoped to the one queue: the topic only ever adds messages to it.
resource topicMessageSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(transferQueue.id, systemTopic.id, 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
  scope: transferQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a') // Storage Queue Data Message Sender
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output systemTopicName string = systemTopic.name
