// The alerts that page someone, through the action group of monitoring.bicep:
//   - the app answers 5xx (its requests in Application Insights),
//   - sign-ins fail, counted by kind from the handler's own log,
//   - /healthz does not answer from the internet (a standard availability
//     test from three regions).
// The B2C client secret's expiry is keyvault.bicep's (an Event Grid event,
// not a metric or a log).

@description('Region of the log alert and the availability test (the component\'s).')
param location string

@description('Tags applied to every alert resource.')
param tags object

@description('Name of the function app whose HTTP answers are watched.')
param siteName string

@description('Name of the Application Insights component the app reports to.')
param appInsightsName string

@description('Resource ID of the action group every alert notifies.')
param actionGroupId string

@description('https URL of the app\'s /healthz, as the internet reaches it.')
param healthUrl string

@description('5xx answers within 5 minutes above which the app pages.')
@minValue(0)
param serverErrorThreshold int

@description('Failures of one kind within 15 minutes from which sign-in pages; a misconfiguration pages at the first.')
@minValue(1)
param signInFailureThreshold int

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// 5xx answers, from the requests Application Insights records for the
// app: the site's Http5xx platform metric may not be emitted for Flex
// Consumption apps (rule flex-metric keeps metric alerts to the metrics
// its monitoring reference lists), and the component counts what the host
// answered, its own 5xx included. Scoped to the component: its schema,
// requests and resultCode (AppRequests and ResultCode in the workspace).
var serverErrorQuery = '''
requests
| where toint(resultCode) >= 500
| summarize errors = count()
'''

resource serverErrors 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'http5xx-${siteName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '5xx answers (${siteName})'
    description: 'The app answered more than ${serverErrorThreshold} requests with 5xx in 5 minutes.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: serverErrorQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'errors'
          operator: 'GreaterThan'
          threshold: serverErrorThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroupId
      ]
    }
  }
}

// Sign-in failures by kind. The handler writes one JSON line per failed
// request to stdout, {"msg":"request failed","status":...,"kind":"<kind>",
// "code":"<B2C code>","setting":"<variable>"} (handlers/errors.go);
// the Functions host logs a custom handler's stdout as traces in the
// Host.Function.Console category, message = the line, and host.json keeps
// traces out of sampling. The rule is scoped to the Application Insights
// component, so the query reads the component's schema: traces, message,
// customDimensions (scoped to the workspace it would be AppTraces, Message,
// Properties). A misconfiguration (an unknown user flow, scopes the app
// registration lacks, a table the identity may not use) pages at once; any
// other kind pages from signInFailureThreshold in 15 minutes.
var signInFailureQuery = '''
let threshold = {threshold};
traces
| where message has "request failed"
| extend line = parse_json(message)
| where tostring(line.msg) == "request failed"
| extend kind = tostring(line.kind)
| where isnotempty(kind)
| summarize failures = count() by kind, setting = tostring(line.setting)
| where kind == "misconfigured" or failures >= threshold
'''

resource signInFailures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'signin-failures-${siteName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Sign-in failures by kind (${siteName})'
    description: 'A misconfiguration, or ${signInFailureThreshold} or more sign-in failures of one kind in 15 minutes; the kind is the alert\'s dimension.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: replace(signInFailureQuery, '{threshold}', string(signInFailureThreshold))
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'kind'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroupId
      ]
    }
  }
}

// A standard test (URL ping tests retire on 30 September 2026) of /healthz
// from three regions every 5 minutes, TLS checked. /healthz reads no session
// and calls neither storage nor B2C, so it fails only when the app or the
// platform in front of it does. The hidden-link tag ties the test to its
// component; without it the portal and the alert do not find it.
resource healthTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: 'healthz-${siteName}'
  location: location
  tags: union(tags, { 'hidden-link:${appInsights.id}': 'Resource' })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: 'healthz-${siteName}'
    Name: 'healthz'
    Description: 'The app answers /healthz with 200 from the internet.'
    Enabled: true
    Frequency: 300
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [
      { Id: 'us-va-ash-azr' } // East US
      { Id: 'emea-nl-ams-azr' } // West Europe
      { Id: 'apac-sg-sin-azr' } // Southeast Asia
    ]
    Request: {
      RequestUrl: healthUrl
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 7
    }
  }
}

// Pages when two of the three locations fail within 5 minutes.
resource healthUnavailable 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'healthz-unavailable-${siteName}'
  location: 'global'
  tags: union(tags, { 'hidden-link:${appInsights.id}': 'Resource', 'hidden-link:${healthTest.id}': 'Resource' })
  properties: {
    description: '/healthz failed from 2 of 3 locations.'
    severity: 1
    enabled: true
    scopes: [
      healthTest.id
      appInsights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: healthTest.id
      componentId: appInsights.id
      failedLocationCount: 2
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroupId
      }
    ]
  }
}
