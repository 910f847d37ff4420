// Blob-created events for the source container become messages on the transfer queue.
//
// A StorageQueue endpoint has no webhook validation handshake and needs no function key, but Event Grid does check,
// while it creates the subscription, that the topic's identity may send to the queue; when it may not yet, the
// deployment fails with "Managed Identity Authorization Error ... Visit aka.ms/egmsivalidation". A new role assignment
// takes minutes to take effect after it exists, and dependsOn only waits until it exists. So the topic, its identity
// and its role are created early (eventgrid.bicep) and main.bicep deploys this module only after the function app,
// whose creation takes minutes, which gives the role time to take effect.

@description('The system topic eventgrid.bicep created; its identity holds Storage Queue Data Message Sender on the queue.')
param systemTopicName string
param storageAccountName string
param sourceContainerName string
@description('Blob name prefix inside the source container; empty = every blob.')
param sourcePrefix string
param transferQueueName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource blobCreatedToQueue 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'blob-created-to-transfer-queue'
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

output subscriptionName string = blobCreatedToQueue.name
