package check

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Rules about the virtual network, its subnets and private endpoints.

// subnets lists the subnets a template declares: inline in a virtual
// network's properties.subnets, or as subnets resources.
func (t *template) subnets() []*Node {
	var out []*Node
	for _, r := range t.deployed("Microsoft.Network/virtualNetworks") {
		if list := prop(r.Body, "properties", "subnets"); list != nil && list.Type == "array" {
			out = append(out, list.Children...)
		}
	}
	for _, r := range t.deployed("Microsoft.Network/virtualNetworks/subnets") {
		out = append(out, r.Body)
	}
	return out
}

var prefixLenRE = regexp.MustCompile(`/(\d+)$`)

// prefixLength is a subnet's prefix length when it can be read: a literal
// CIDR or cidrSubnet(range, length, index).
func prefixLength(t *template, n *Node) (int, bool) {
	n = t.resolveVar(n)
	if v, ok := stringValue(n); ok {
		if m := prefixLenRE.FindStringSubmatch(v); m != nil {
			l, err := strconv.Atoi(m[1])
			return l, err == nil
		}
	}
	if callName(n) == "cidrSubnet" {
		if args := callArgs(n); len(args) == 3 && args[1].Type == "number" {
			l, err := strconv.Atoi(args[1].Text)
			return l, err == nil
		}
	}
	return 0, false
}

func ruleFlexSubnet(_ *Set, t *template, report reporter) {
	for _, sn := range t.subnets() {
		name, _ := stringValue(t.resolveVar(prop(sn, "name")))
		delegations := prop(sn, "properties", "delegations")
		if delegations == nil {
			continue
		}
		for _, d := range delegations.Children {
			service := prop(d, "properties", "serviceName")
			switch {
			case IsString(service, "Microsoft.Web/serverFarms"):
				report(d.Line, "subnet %s is delegated to Microsoft.Web/serverFarms, the Premium and Dedicated plans' delegation: a Flex Consumption app integrates only with a subnet delegated to Microsoft.App/environments", name)
			case IsString(service, "Microsoft.App/environments"):
				if strings.Contains(name, "_") {
					report(sn.Line, "subnet %s: Flex Consumption does not support subnet names with '_'", name)
				}
				if prop(sn, "properties", "natGateway", "id") == nil {
					report(sn.Line, "subnet %s has no NAT gateway: the app's outbound address is a shared one that changes, and new virtual networks get no default outbound access; attach a NAT gateway with a static public IP (properties.natGateway.id)", name)
				}
				if l, ok := prefixLength(t, prop(sn, "properties", "addressPrefix")); ok && l > 27 {
					report(sn.Line, "subnet %s is a /%d: Flex Consumption needs a /27 or larger (its outbound gateways take up to 27 addresses)", name, l)
				}
			}
		}
	}
}

// parentOf reports whether child names r as its parent: nested in it, or
// parent: r (or r[i], for a loop).
func parentOf(child, r *resource) bool {
	if child.Parent == r {
		return true
	}
	p := prop(child.Body, "parent")
	return p != nil && (p.Text == r.Symbol || strings.HasPrefix(p.Text, r.Symbol+"["))
}

func rulePrivateEndpointDNS(_ *Set, t *template, report reporter) {
	pairs := []struct{ parent, child, what, missing string }{
		{"Microsoft.Network/privateEndpoints", "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "private endpoint", "has no private DNS zone group: no A record in the service's privatelink zone, so its name resolves to the public address"},
		{"Microsoft.Network/privateDnsZones", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "private DNS zone", "is linked to no virtual network: nothing in the network resolves through it"},
	}
	for _, p := range pairs {
		for _, r := range t.deployed(p.parent) {
			if !slices.ContainsFunc(t.deployed(p.child), func(c *resource) bool { return parentOf(c, r) }) {
				report(r.Line, "%s %s %s", p.what, r.Symbol, p.missing)
			}
		}
	}
}

func ruleVnetLockdown(_ *Set, t *template, report reporter) {
	if t.param("vnetEnabled") == nil {
		return
	}
	follows := func(n *Node) bool {
		return slices.ContainsFunc(t.expand(n), func(e *Node) bool { return slices.Contains(references(e), "vnetEnabled") })
	}
	for _, typ := range []string{"Microsoft.Storage/storageAccounts", "Microsoft.KeyVault/vaults"} {
		for _, r := range t.deployed(typ) {
			if v := prop(r.Body, "properties", "publicNetworkAccess"); v == nil || !follows(v) {
				report(r.Line, "%s: properties.publicNetworkAccess must follow vnetEnabled (vnetEnabled ? 'Disabled' : 'Enabled'): with the private network on, the public endpoint stays open", r.Symbol)
			}
			if v := prop(r.Body, "properties", "networkAcls", "defaultAction"); v == nil || !follows(v) {
				report(r.Line, "%s: properties.networkAcls.defaultAction must follow vnetEnabled (vnetEnabled ? 'Deny' : 'Allow')", r.Symbol)
			}
		}
	}
}

// rulePrivateDNSZoneCloud: a private DNS zone's name differs per cloud
// ("Azure Private Endpoint private DNS zone values": privatelink.vaultcore.azure.net,
// .usgovcloudapi.net, .azure.cn), so a literal one is right in one cloud only.
func rulePrivateDNSZoneCloud(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if v, ok := stringValue(n); ok && strings.HasPrefix(strings.ToLower(v), "privatelink.") {
			report(n.Line, "private DNS zone %q is written out for one cloud: build it from environment().suffixes", v)
		}
		return true
	})
}
