package infra_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// hostSetting is an app setting read by the Azure Functions host, not by
// the handler.
type hostSetting struct {
	Name string
	Why  string
}

// hostSettings is the one list of app settings the Functions host reads
// (the handler's are appsettings.All). Bicep must set every one.
var hostSettings = []hostSetting{
	// The host's storage account (timer locks, host state), reached with an
	// identity instead of a connection string.
	{"AzureWebJobsStorage__accountName", "host storage account"},
	// Tells the host to authenticate to that account with a managed identity.
	{"AzureWebJobsStorage__credential", "managedidentity"},
	// Which managed identity: the user-assigned one (there is no system-assigned).
	{"AzureWebJobsStorage__clientId", "user-assigned identity for host storage"},
	// Where the host sends telemetry (and the handler's stdout/stderr).
	{"APPLICATIONINSIGHTS_CONNECTION_STRING", "telemetry destination"},
	// Entra ID ingestion with the identity: the component has local auth disabled.
	{"APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "ClientId=<id>;Authorization=AAD"},
	// Stops the host's own page on / so the handler's index page serves it.
	{"AzureWebJobsDisableHomepage", "handler owns /"},
	// The sweep timer's schedule, "%SWEEP_SCHEDULE%" in functions/sweep/function.json.
	{"SWEEP_SCHEDULE", "timer schedule of the session sweeper"},
}

// setByPlatform are handler settings that Azure itself provides; Bicep
// must not set them.
var setByPlatform = map[string]string{
	config.Port: "the Functions host passes the port to the custom handler",
}

// requiredInAzure are handler settings that config.Load treats as optional
// (they have a local alternative) but that a deployment needs, because the
// alternative is LocalOnly.
var requiredInAzure = map[string]string{
	// SESSION_TABLE_CONNECTION_STRING (Azurite) is LocalOnly; in Azure the
	// table is reached by endpoint and identity.
	auth.EnvTableEndpoint: "the only way to the session table in Azure",
	// The identity is user-assigned: without its client ID azidentity finds none.
	auth.EnvManagedIdentityID: "selects the user-assigned identity",
	// Absent, the handler takes the tenant for B2C: a deployment states
	// the kind it was deployed for.
	auth.EnvIdentityProvider: "the kind of tenant, stated for both",
}

// tenantKind is a kind of tenant main.bicep deploys for: a value of its
// identityProvider parameter (IDENTITY_PROVIDER), with the settings whose
// requirement the kind changes (auth.ConfigFromEnv).
type tenantKind struct {
	Name     string
	Required []string // required for this kind, whatever appsettings.All says
	Refused  []string // the handler refuses them for this kind: Bicep must not set them
}

// tenantKinds: External ID needs the tenant ID (its authority is
// https://{host}/{tenant ID}) and refuses the user-flow settings, since its
// one user flow is attached to the app registration.
// TestTenantKindsMatchHandler holds this table to the handler.
var tenantKinds = []tenantKind{
	{Name: "b2c", Required: []string{auth.EnvSignUpSignInPolicy}},
	{Name: "external-id", Required: []string{auth.EnvTenantID},
		Refused: []string{auth.EnvSignUpSignInPolicy, auth.EnvProfileEditPolicy, auth.EnvPasswordResetPolicy}},
}

// forKind is the handler's settings with Required as kind says.
func forKind(handler []config.Setting, kind tenantKind) []config.Setting {
	out := slices.Clone(handler)
	for i, s := range out {
		out[i].Required = (s.Required && !slices.Contains(kind.Refused, s.Name)) || slices.Contains(kind.Required, s.Name)
	}
	return out
}

var settingRefRE = regexp.MustCompile(`%([A-Za-z0-9_.:-]+)%`)

// functionJSONRefs finds the %NAME% app-setting references in
// functions/*/function.json (name → the file that references it).
func functionJSONRefs(root string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range settingRefRE.FindAllStringSubmatch(string(b), -1) {
			rel, _ := filepath.Rel(root, f)
			refs[m[1]] = filepath.ToSlash(rel)
		}
	}
	return refs, nil
}

// consistencyProblems compares the app settings Bicep sets for one kind of
// tenant with what the handler (for that kind), the host and function.json
// read. Each problem is one sentence.
func consistencyProblems(kind tenantKind, bicep []string, handler []config.Setting, host []hostSetting, refs map[string]string) []string {
	var problems []string
	set := map[string]int{}
	for _, name := range bicep {
		set[name]++
	}
	for _, name := range kind.Refused {
		if set[name] > 0 {
			problems = append(problems, fmt.Sprintf("Bicep sets %s for %s, which the handler refuses for that kind of tenant", name, kind.Name))
		}
	}
	handler = forKind(handler, kind)
	for name, n := range set {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("Bicep sets %s %d times", name, n))
		}
	}
	readers := map[string]string{} // setting → who reads it
	for _, s := range handler {
		switch {
		case s.LocalOnly:
			if set[s.Name] > 0 {
				problems = append(problems, fmt.Sprintf("Bicep sets %s, a local-only handler setting (%s)", s.Name, s.Description))
			}
		case setByPlatform[s.Name] != "":
			if set[s.Name] > 0 {
				problems = append(problems, fmt.Sprintf("Bicep sets %s: %s", s.Name, setByPlatform[s.Name]))
			}
		default:
			readers[s.Name] = "the handler"
			if (s.Required || requiredInAzure[s.Name] != "") && set[s.Name] == 0 {
				problems = append(problems, fmt.Sprintf("the handler requires %s for %s (%s) but Bicep does not set it", s.Name, kind.Name, s.Description))
			}
		}
	}
	for _, h := range host {
		readers[h.Name] = "the Functions host"
		if set[h.Name] == 0 {
			problems = append(problems, fmt.Sprintf("the Functions host reads %s (%s) but Bicep does not set it", h.Name, h.Why))
		}
	}
	for name, file := range refs {
		readers[name] = file
		if set[name] == 0 {
			problems = append(problems, fmt.Sprintf("%s references %%%s%% but Bicep does not set it", file, name))
		}
	}
	for name := range set {
		if readers[name] == "" && !isLocalOrPlatform(name, handler) {
			problems = append(problems, fmt.Sprintf("Bicep sets %s, which neither the handler (internal/appsettings.All), the host (hostSettings) nor a function.json reads", name))
		}
	}
	sort.Strings(problems)
	return problems
}

func isLocalOrPlatform(name string, handler []config.Setting) bool {
	for _, s := range handler {
		if s.Name == name && (s.LocalOnly || setByPlatform[name] != "") {
			return true // already reported above
		}
	}
	return false
}
