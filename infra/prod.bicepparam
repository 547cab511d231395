// Production environment. Tenant-specific values come from the deploying
// shell or pipeline variables; the client secret only ever from the
// environment (a pipeline secret). Nothing secret is committed here.
//
//   export B2C_TENANT_NAME=... B2C_CLIENT_ID=... B2C_CLIENT_SECRET=...
//   export IDENTITY_PROVIDER=external-id B2C_TENANT_ID=...   # an External ID tenant
//   az deployment group create -g <group> -f infra/main.bicep -p infra/prod.bicepparam
using 'main.bicep'

// azd passes its environment's name; the azd-env-name tag follows it.
param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'prod')

// The kind of tenant: b2c (the default) or external-id. External ID needs
// B2C_TENANT_ID and no policy: its user flow is attached to the app.
param identityProvider = readEnvironmentVariable('IDENTITY_PROVIDER', 'b2c')
param b2cTenantName = readEnvironmentVariable('B2C_TENANT_NAME')
param b2cTenantHost = readEnvironmentVariable('B2C_TENANT_HOST', '')
param tenantId = readEnvironmentVariable('B2C_TENANT_ID', '')
// B2C only (main.bicep defaults the first to B2C_1_signupsignin1).
param b2cSignUpSignInPolicy = readEnvironmentVariable('B2C_SIGNUP_SIGNIN_POLICY', '')
param b2cProfileEditPolicy = readEnvironmentVariable('B2C_PROFILE_EDIT_POLICY', '')
param b2cPasswordResetPolicy = readEnvironmentVariable('B2C_PASSWORD_RESET_POLICY', '')
param b2cPolicyClaim = readEnvironmentVariable('B2C_POLICY_CLAIM', '')
param b2cClientId = readEnvironmentVariable('B2C_CLIENT_ID')
param postLogoutRedirectUri = readEnvironmentVariable('POST_LOGOUT_REDIRECT_URI', '')
// Required on the first deployment (without it the deployment stops) and to
// rotate; later, empty keeps the stored secret when B2C_CLIENT_SECRET_IN_VAULT=true.
param b2cClientSecret = readEnvironmentVariable('B2C_CLIENT_SECRET', '')
param b2cClientSecretInVault = readEnvironmentVariable('B2C_CLIENT_SECRET_IN_VAULT', 'false') == 'true'
param b2cClientSecretExpiresOn = readEnvironmentVariable('B2C_CLIENT_SECRET_EXPIRES_ON', '')
// A custom domain in front of the app, if any (https://login.example.com).
param publicBaseUrl = readEnvironmentVariable('PUBLIC_BASE_URL', '')
param apiEndpoint = readEnvironmentVariable('API_ENDPOINT', '')
param apiScopes = readEnvironmentVariable('API_SCOPES', '')

param logLevel = 'info'

// Zone-redundant: the plan spreads its instances over the region's zones
// (pick a region from az functionapp list-flexconsumption-locations
// --zone-redundant=true), on zone-redundant storage. The platform keeps at
// least two always-ready instances in every scale group then, billed as
// such: two are asked for the http group (no cold start on the first
// sign-in, one instance per zone at least), and the sweep timer's own group
// gets two more (docs/deploy.md: 4 in all, the monthly idle cost).
param instanceMemoryMB = 2048
param maximumInstanceCount = 100
param alwaysReadyInstances = 2
param storageSku = 'Standard_ZRS'
param zoneRedundant = true

// Nobody deletes the vault or the storage account (sessions, host storage,
// the deployment package) by mistake. Needs Owner or User Access
// Administrator on the resource group to deploy.
param lockResources = true

// After the vault or the resource group was deleted, soft delete keeps the
// vault's name: KEY_VAULT_RECOVER=true recovers it, KEY_VAULT_NAME picks another.
param keyVaultName = readEnvironmentVariable('KEY_VAULT_NAME', '')
param recoverKeyVault = readEnvironmentVariable('KEY_VAULT_RECOVER', 'false') == 'true'

param enablePurgeProtection = true
param softDeleteRetentionInDays = 90
param logRetentionInDays = 90

// Alerts page ALERT_EMAIL: required here, the deployment stops without it.
param alertEmail = readEnvironmentVariable('ALERT_EMAIL')

// The private network, off unless VNET_ENABLED=true: storage and the vault
// then answer only through private endpoints (see "Deploy to Azure").
param vnetEnabled = readEnvironmentVariable('VNET_ENABLED', 'false') == 'true'
