// Key Vault for the app registration's client secret and the MSAL token cache (which holds the refresh token).
// RBAC authorization rather than access policies, so access is granted and audited like every other resource.
// With authMode 'app' the vault holds neither (the app proves itself with its managed identity); it holds the
// upload-URL seal key instead, which the app may only read, and a certificate an operator may keep there
// (docs/app-only.md).

param name string
param location string
param tags object
@allowed([ 'delegated', 'app' ])
param authMode string
@secure()
@description('Client secret of the app registration; stored here and referenced by the app, never an app setting value.')
param clientSecret string
param clientSecretName string
@description('Name of the secret holding the MSAL token cache (TOKEN_SECRET_NAME).')
param tokenSecretName string
@description('Principal id of the user-assigned identity the function app runs as.')
param appPrincipalId string
@description('Object id of the deploying user or service principal; empty grants nothing.')
param userPrincipalId string
@allowed([ 'User', 'ServicePrincipal' ])
param userPrincipalType string
@secure()
@description('App mode: the value of the upload-URL seal key, a fresh random value per deployment that @onlyIfNotExists keeps once written.')
param uploadUrlSealSeed string = '${newGuid()}${newGuid()}'
@description('Gives userPrincipalId Secrets Officer on the token-cache secret, for `npm run login` against the vault. Off by default: whoever holds it can read the refresh token.')
param grantUserTokenCacheAccess bool

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

var delegated = authMode == 'delegated'

resource clientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (delegated) {
  parent: vault
  name: clientSecretName
  properties: {
    value: clientSecret
    contentType: 'text/plain'
  }
}

// Created here, before anyone signs in, so the app's role can be scoped to this one secret rather than the vault.
// onlyIfNotExists: a later `azd provision` must not replace a linked cache with the empty one. '{}' is an MSAL cache
// with no accounts, which the app reports as "not linked".
@onlyIfNotExists()
resource tokenCacheSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (delegated) {
  parent: vault
  name: tokenSecretName
  properties: {
    value: '{}'
    contentType: 'application/json'
  }
}

// Officer, not User: the app writes the token cache secret after every refresh-token rotation. Scoped to that secret
// so the app cannot overwrite the client secret.
resource appTokenCacheOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (delegated) {
  name: guid(tokenCacheSecret.id, appPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: tokenCacheSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7') // Key Vault Secrets Officer
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The CLIENT_SECRET Key Vault reference only reads.
resource appClientSecretUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (delegated) {
  name: guid(clientSecretEntry.id, appPrincipalId, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: clientSecretEntry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6') // Key Vault Secrets User
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// App mode has no CLIENT_SECRET to derive the upload-URL seal key from (functions/transfer/uploadUrlTrust.ts), and a
// key per process would stop any other instance from resuming an upload session. onlyIfNotExists: a redeploy keeps
// the key, so sealed sessions in flight stay trusted.
@onlyIfNotExists()
resource uploadUrlSealKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!delegated) {
  parent: vault
  name: 'upload-url-seal-key'
  properties: {
    value: uploadUrlSealSeed
    contentType: 'text/plain'
  }
}

// The UPLOAD_URL_SEAL_KEY Key Vault reference only reads.
resource appSealKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!delegated) {
  name: guid(uploadUrlSealKey.id, appPrincipalId, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: uploadUrlSealKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6') // Key Vault Secrets User
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Only on request (grantUserTokenCacheAccess): lets the deploying user run `npm run login` with KEY_VAULT_URL set.
// README "Link OneDrive" shows how to grant the same role by hand for one login and remove it afterwards.
resource userTokenCacheOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (delegated && grantUserTokenCacheAccess && !empty(userPrincipalId)) {
  name: guid(tokenCacheSecret.id, userPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: tokenCacheSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7') // Key Vault Secrets Officer
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless, so a rotated secret reaches the app without a redeploy. Empty in app mode: there is no secret.
output clientCredentialUri string = delegated ? clientSecretEntry.properties.secretUri : ''
output tokenSecretName string = tokenSecretName
output uploadUrlSealKeyUri string = delegated ? '' : uploadUrlSealKey.properties.secretUri
