// Blob-created events for the source container become messages on the transfer queue. A StorageQueue endpoint
// needs no function key and no validation handshake, so this deploys together with everything else (no post-deploy
// step), unlike an Event Grid blob trigger's webhook.

param name string
param location string
param tags object
param storageAccountName string
param sourceContainerName string
@description('Blob name prefix inside the source container; empty = every blob.')
param sourcePrefix string
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

resource blobCreatedToQueue 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'blob-created-to-transfer-queue'
  // Delivery fails until the topic may send to the queue.
  dependsOn: [
    topicMessageSender
  ]
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${sourceContainerName}/blobs/${sourcePrefix}'
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: account.id
          queueName: transferQueueName
        }
      }
    }
  }
}

output systemTopicName string = systemTopic.name
output subscriptionName string = blobCreatedToQueue.name
