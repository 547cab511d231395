// The private network (vnetEnabled): a virtual network the app is
// integrated with, and private endpoints through which it reaches its
// storage (blob, queue, table) and its vault, each with the private DNS zone
// that makes the service's usual name resolve to the endpoint inside the
// network. storage.bicep and keyvault.bicep turn public network access off
// when this is on. The app itself stays public: browsers sign in over the
// internet.
//
// Flex Consumption integrates with a subnet delegated to
// Microsoft.App/environments, /27 or larger for one app, no underscore in its
// name, used for nothing else (private endpoints included), and routes all of
// its outbound traffic through it; the Microsoft.App resource provider must
// be registered ("Azure Functions networking options", Flex Consumption). A
// Key Vault reference then resolves through the network too ("Use Key Vault
// references", same page). Application Insights ingestion stays on its
// public endpoint (no private link scope here).
//
// Outbound traffic to the internet (B2C's endpoints among it) leaves through
// a NAT gateway with one static public IP: the address B2C, an API's
// firewall and its rate limits see stays the same across scale-outs and
// redeployments, and nothing depends on default outbound access, which new
// virtual networks no longer get ("Default outbound access in Azure";
// "Azure Functions networking options": without a NAT gateway the source
// address is one of the app's shared outbound addresses). A /27 is the size
// the Flex Consumption guidance gives for one app up to 1,000 instances:
// its outbound gateways take at most 27 addresses, not one per instance.

@description('Name of the virtual network.')
param name string

@description('Region of the network and the endpoints (the app\'s: integration must be in the same region).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Address space of the virtual network, /26 or larger: the app\'s /27 and the endpoints\' /27 are cut from it.')
param addressPrefix string

@description('Name of the storage account reached through blob, queue and table endpoints.')
param storageAccountName string

@description('Name of the vault reached through its endpoint.')
param keyVaultName string

var appSubnetName = 'app'
var endpointSubnetName = 'private-endpoints'

resource egressIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: 'pip-egress-${name}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-05-01' = {
  name: 'ng-${name}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: egressIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 27, 0)
          natGateway: {
            id: nat.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: endpointSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 27, 1)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

// One endpoint per service the app (and the host) calls: the group ID of
// the private link resource and its private DNS zone
// ("Azure Private Endpoint private DNS zone values": blob, queue, table;
// vault for Key Vault).
var endpoints = [
  {
    group: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
    target: storage.id
  }
  {
    group: 'queue'
    zone: 'privatelink.queue.${environment().suffixes.storage}'
    target: storage.id
  }
  {
    group: 'table'
    zone: 'privatelink.table.${environment().suffixes.storage}'
    target: storage.id
  }
  {
    group: 'vault'
    // privatelink.vaultcore.azure.net in Azure, .usgovcloudapi.net and
    // .azure.cn in the sovereign clouds: the vault suffix, vault. as vaultcore.
    zone: 'privatelink${replace(environment().suffixes.keyvaultDns, 'vault.', 'vaultcore.')}'
    target: vault.id
  }
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for e in endpoints: {
    name: e.zone
    location: 'global'
    tags: tags
  }
]

// Without the link the network's resolver never sees the zone, and the
// app resolves the public address, which refuses it.
resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (e, i) in endpoints: {
    parent: zones[i]
    name: name
    location: 'global'
    tags: tags
    properties: {
      virtualNetwork: {
        id: vnet.id
      }
      registrationEnabled: false
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for e in endpoints: {
    name: 'pe-${e.group}-${name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        // properties.subnets[1] is the endpoints' subnet (above): a runtime
        // reference, so each endpoint waits for the network.
        id: vnet.properties.subnets[1].id
      }
      privateLinkServiceConnections: [
        {
          name: e.group
          properties: {
            privateLinkServiceId: e.target
            groupIds: [
              e.group
            ]
          }
        }
      ]
    }
  }
]

// The zone group writes the endpoint's A record into its zone.
resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.group
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

@description('Resource ID of the subnet the app integrates with. Read after every endpoint and DNS record exists: the app waits for them.')
output appSubnetId string = vnet.properties.subnets[0].id

@description('The static public IP the app\'s outbound traffic leaves from: the address to allow in a downstream firewall.')
output egressIpAddress string = egressIp.properties.ipAddress
