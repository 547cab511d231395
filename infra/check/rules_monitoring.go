package check

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Rules about diagnostics, alerts and availability tests.

// diagnosed are the types whose logs must reach the workspace.
var diagnosed = []string{"Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts/tableServices"}

func ruleDiagnosticSettings(s *Set, t *template, report reporter) {
	mods, templates := s.composed(t)
	for i, mt := range templates {
		for _, typ := range diagnosed {
			for _, r := range mt.deployed(typ) {
				ok := false
				for _, d := range mt.scopedTo("Microsoft.Insights/diagnosticSettings", r) {
					logs := prop(d.Body, "properties", "logs")
					if prop(d.Body, "properties", "workspaceId") != nil && logs != nil && logs.Type == "array" && len(logs.Children) > 0 {
						ok = true
					}
				}
				if !ok {
					report(mods[i].Line, "module %s: %s (%s) sends no logs to the workspace: add a Microsoft.Insights/diagnosticSettings with scope: %s, properties.workspaceId and logs", mods[i].Symbol, r.ref(), r.Type, r.ref())
				}
			}
		}
	}
}

// nonEmpty reports whether n can hold something: not missing, not the
// literal [] or {}.
func nonEmpty(n *Node) bool {
	return n != nil && !((n.Type == "array" || n.Type == "object") && len(n.Children) == 0)
}

func ruleAlertAction(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/metricAlerts") {
		if !nonEmpty(prop(r.Body, "properties", "actions")) {
			report(r.Line, "metric alert %s notifies nobody: set properties.actions to [{ actionGroupId: ... }]", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Insights/scheduledQueryRules") {
		if !nonEmpty(prop(r.Body, "properties", "actions", "actionGroups")) {
			report(r.Line, "log alert %s notifies nobody: set properties.actions.actionGroups", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.EventGrid/systemTopics/eventSubscriptions") {
		dest := prop(r.Body, "properties", "destination")
		if IsString(prop(dest, "endpointType"), "MonitorAlert") && !nonEmpty(prop(dest, "properties", "actionGroups")) {
			report(r.Line, "event subscription %s raises alerts that notify nobody: set destination.properties.actionGroups", r.Symbol)
		}
	}
	receivers := []string{"emailReceivers", "smsReceivers", "voiceReceivers", "webhookReceivers", "azureAppPushReceivers", "armRoleReceivers", "logicAppReceivers", "azureFunctionReceivers", "automationRunbookReceivers", "itsmReceivers", "eventHubReceivers"}
	for _, r := range t.deployed("Microsoft.Insights/actionGroups") {
		if !slices.ContainsFunc(receivers, func(k string) bool { return nonEmpty(prop(r.Body, "properties", k)) }) {
			report(r.Line, "action group %s has no receiver: it pages nobody", r.Symbol)
		}
	}
}

// The tables of Application Insights' two schemas: the component's own
// (classic) and the workspace's, as a workspace-based component's data
// appears in Log Analytics.
var (
	componentTables = []string{"traces", "requests", "dependencies", "exceptions", "customEvents", "customMetrics", "pageViews", "availabilityResults", "browserTimings", "performanceCounters"}
	workspaceTables = []string{"AppTraces", "AppRequests", "AppDependencies", "AppExceptions", "AppEvents", "AppMetrics", "AppPageViews", "AppAvailabilityResults", "AppBrowserTimings", "AppPerformanceCounters"}
	tableRefRE      = regexp.MustCompile(`(?m)(?:^|[\s(|,;])([A-Za-z]+)\s*(?:\||$)`)
)

// queryTables lists the schema tables a KQL query names as a source:
// a table name that starts a pipeline.
func queryTables(query string) []string {
	var out []string
	for _, m := range tableRefRE.FindAllStringSubmatch(query, -1) {
		if slices.Contains(componentTables, m[1]) || slices.Contains(workspaceTables, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// queryText is the literal text of a query expression: a string, a
// variable holding one, or replace()/format() over one.
func queryText(t *template, n *Node) (string, bool) {
	n = t.resolveVar(n)
	if v, ok := stringValue(n); ok {
		return v, true
	}
	if name := callName(n); name == "replace" || name == "format" {
		if args := callArgs(n); len(args) > 0 {
			return queryText(t, args[0])
		}
	}
	return "", false
}

func ruleLogAlertSchema(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/scheduledQueryRules") {
		var scopeTypes []string
		if scopes := prop(r.Body, "properties", "scopes"); scopes != nil {
			for _, sc := range scopes.Children {
				for _, other := range t.Resources {
					if sc.Text == other.Symbol+".id" {
						scopeTypes = append(scopeTypes, other.Type)
					}
				}
			}
		}
		conds := prop(r.Body, "properties", "criteria", "allOf")
		if conds == nil {
			continue
		}
		for _, c := range conds.Children {
			q, ok := queryText(t, prop(c, "query"))
			if !ok {
				continue
			}
			for _, table := range queryTables(q) {
				for _, typ := range scopeTypes {
					switch {
					case strings.EqualFold(typ, "Microsoft.Insights/components") && slices.Contains(workspaceTables, table):
						report(r.Line, "log alert %s is scoped to Application Insights but reads %s, a workspace table: read %s (or scope the rule to the workspace)", r.Symbol, table, componentTables[slices.Index(workspaceTables, table)])
					case strings.EqualFold(typ, "Microsoft.OperationalInsights/workspaces") && slices.Contains(componentTables, table):
						report(r.Line, "log alert %s is scoped to a workspace but reads %s, Application Insights' own table: read %s (or scope the rule to the component)", r.Symbol, table, workspaceTables[slices.Index(componentTables, table)])
					}
				}
			}
		}
	}
}

func ruleWebtestLink(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/webtests") {
		linked := false
		prop(r.Body, "tags").walk(func(n *Node) bool {
			if n.Type == "object_property" && len(n.Children) >= 2 && strings.HasPrefix(stringPrefix(n.Children[0]), "hidden-link:") && IsString(n.last(), "Resource") {
				linked = true
			}
			return !linked
		})
		if !linked {
			report(r.Line, "availability test %s has no tag 'hidden-link:${<component>.id}': 'Resource'; the component does not show it, nor alert on it", r.Symbol)
		}
	}
}

func ruleSecretNearExpiry(_ *Set, t *template, report reporter) {
	subscribed := false
	for _, r := range t.deployed("Microsoft.EventGrid/systemTopics/eventSubscriptions") {
		types := prop(r.Body, "properties", "filter", "includedEventTypes")
		if types == nil || !slices.ContainsFunc(types.Children, func(n *Node) bool { return IsString(n, "Microsoft.KeyVault.SecretNearExpiry") }) {
			continue
		}
		subscribed = true
		if IsString(prop(r.Body, "properties", "destination", "endpointType"), "MonitorAlert") && !IsString(prop(r.Body, "properties", "eventDeliverySchema"), "CloudEventSchemaV1_0") {
			report(r.Line, "event subscription %s delivers to Azure Monitor alerts, which take only eventDeliverySchema: 'CloudEventSchemaV1_0'", r.Symbol)
		}
	}
	if subscribed {
		return
	}
	for _, r := range t.deployed("Microsoft.KeyVault/vaults/secrets") {
		if prop(r.Body, "properties", "attributes", "exp") != nil {
			report(r.Line, "secret %s records an expiry that nobody is told about: subscribe to Microsoft.KeyVault.SecretNearExpiry (Event Grid system topic on the vault, destination an Azure Monitor alert with the action group)", r.Symbol)
		}
	}
}

// atLeast reports whether n is a number literal of at least min.
func atLeast(n *Node, min int) bool {
	if n == nil || n.Type != "number" {
		return false
	}
	v, err := strconv.Atoi(n.Text)
	return err == nil && v >= min
}

// flexSiteMetrics are the Microsoft.Web/sites metrics the Flex Consumption
// plan documents ("Monitoring data reference for Azure Functions", Flex
// Consumption). The App Service metrics (Http5xx, Requests, ...) are listed
// for function apps in general, not for Flex: an alert on one may never
// fire. Alert on Application Insights (requests/failed, or a log query on
// requests) instead.
var flexSiteMetrics = []string{
	"OnDemandFunctionExecutionCount",
	"AlwaysReadyFunctionExecutionCount",
	"OnDemandFunctionExecutionUnits",
	"AlwaysReadyFunctionExecutionUnits",
	"AlwaysReadyUnits",
	"InstanceCount",
}

func ruleFlexMetric(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/metricAlerts") {
		// The criteria may sit in variables.
		for _, body := range t.expand(r.Body) {
			body.walk(func(n *Node) bool {
				if n.Type != "object" || prop(n, "metricName") == nil {
					return true
				}
				metric, literal := stringValue(prop(n, "metricName"))
				namespace, named := stringValue(prop(n, "metricNamespace"))
				switch {
				case !literal:
					report(n.Line, "metric alert %s: metricName %s is not a literal: write the metric's name so it can be checked", r.Symbol, textOf(prop(n, "metricName")))
				case !named:
					report(n.Line, "metric alert %s: criterion %s names no literal metricNamespace: say whose metric it is", r.Symbol, metric)
				case strings.EqualFold(namespace, "Microsoft.Web/sites") && !slices.ContainsFunc(flexSiteMetrics, func(m string) bool { return strings.EqualFold(m, metric) }):
					report(n.Line, "metric alert %s: %s is not a metric Flex Consumption documents for a site (%s): alert on Application Insights requests instead", r.Symbol, metric, strings.Join(flexSiteMetrics, ", "))
				}
				return false
			})
		}
	}
}
