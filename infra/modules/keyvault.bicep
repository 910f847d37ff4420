// Key Vault for the app registration's client secret and the MSAL token cache (which holds the refresh token).
// RBAC authorization rather than access policies, so access is granted and audited like every other resource.

param name string
param location string
param tags object
@secure()
@description('Client secret of the app registration; stored here and referenced by the app, never an app setting value.')
param clientSecret string
param clientSecretName string
@description('Principal id of the user-assigned identity the function app runs as.')
param appPrincipalId string
@description('Object id of the deploying user or service principal; empty grants nothing.')
param userPrincipalId string
@allowed([ 'User', 'ServicePrincipal' ])
param userPrincipalType string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Purge protection is left off on purpose: once on it cannot be turned off, and `azd down --purge` could then
    // not remove the vault, blocking a redeploy with the same environment name for the retention period.
    // Key Vault references fail against a network-restricted vault on Flex Consumption, so access stays public
    // and RBAC is the gate.
    publicNetworkAccess: 'Enabled'
  }
}

resource clientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: clientSecretName
  properties: {
    value: clientSecret
    contentType: 'text/plain'
  }
}

// Officer, not User: the app writes the token cache secret after every refresh-token rotation.
resource appSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7') // Key Vault Secrets Officer
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Lets the deploying user run the CLI sign-in (`npm run login`) with KEY_VAULT_URL set, sharing the app's token cache.
resource userSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(vault.id, userPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7') // Key Vault Secrets Officer
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless, so a rotated secret reaches the app without a redeploy.
output clientCredentialUri string = clientSecretEntry.properties.secretUri
