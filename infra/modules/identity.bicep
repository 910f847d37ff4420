// The one user-assigned identity the function app uses for host storage, data, Key Vault and Application Insights,
// so every role assignment exists before the app starts and survives re-creating the site.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
