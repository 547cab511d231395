package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The fields of azure.yaml that azd's schema (schemas/v1.0/azure.yaml.json
// in Azure/azure-dev) defines, at the levels this project uses. The schema
// leaves most levels open (additionalProperties: true, for extensions), so a
// key it does not define is a typo here; for the function host it requires
// project and refuses image, k8s, apiVersion and env.
var (
	azdTopLevel = []string{"name", "resourceGroup", "metadata", "infra", "services", "resources", "pipeline", "hooks",
		"requiredVersions", "state", "platform", "workflows", "cloud"}
	azdService = []string{"apiVersion", "resourceGroup", "resourceName", "project", "image", "host", "language", "module",
		"dist", "remoteBuild", "docker", "k8s", "config", "uses", "env", "hooks"}
	azdFunctionRefuses = []string{"image", "k8s", "apiVersion", "env"}
	azdServiceHooks    = []string{"predeploy", "postdeploy", "prerestore", "postrestore", "prebuild", "postbuild",
		"prepackage", "postpackage", "prepublish", "postpublish"}
	azdHook  = []string{"shell", "kind", "dir", "run", "continueOnError", "interactive", "windows", "posix", "secrets", "config"}
	azdInfra = []string{"provider", "path", "module", "layers"}
	// The schema's pattern for name.
	azdName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// azure.yaml has azd's shape: the required keys, no key the schema does
// not define, a service that deploys this handler as the infra tags it,
// from a folder that exists, with a prepackage hook that exists and builds
// the folder azd packages.
func TestAzureYAML(t *testing.T) {
	root := moduleRoot(t)
	raw := readRepoFile(t, "azure.yaml")
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("azure.yaml: %v", err)
	}
	onlyKeys(t, "azure.yaml", doc, azdTopLevel)
	if name, _ := doc["name"].(string); len(name) < 2 || !azdName.MatchString(name) {
		t.Errorf("name %q: required, lowercase letters, digits and '-' (the schema's pattern)", name)
	}

	infra, _ := doc["infra"].(map[string]any)
	onlyKeys(t, "infra", infra, azdInfra)
	if p, _ := infra["provider"].(string); p != "" && p != "bicep" {
		t.Errorf("infra.provider %q: the templates are Bicep", p)
	}
	path, _ := infra["path"].(string)
	module, _ := infra["module"].(string)
	if path == "" || module == "" {
		t.Fatalf("infra: path %q, module %q: both set, so azd finds the parameter file", path, module)
	}
	// azd prefers <module>.bicepparam to <module>.bicep
	// (pkg/infra/provisioning/bicep, BicepProvider.Initialize).
	param := filepath.Join(root, path, module+".bicepparam")
	text, err := os.ReadFile(param)
	if err != nil {
		t.Fatalf("infra: azd would look for %s: %v", param, err)
	}
	if !strings.Contains(string(text), "using 'main.bicep'") {
		t.Errorf("%s does not use main.bicep", param)
	}
	if !strings.Contains(string(text), "readEnvironmentVariable('AZURE_ENV_NAME'") {
		t.Errorf("%s: environmentName (the azd-env-name tag) does not follow azd's AZURE_ENV_NAME", param)
	}

	services, _ := doc["services"].(map[string]any)
	if len(services) != 1 {
		t.Fatalf("services: %v, want the one handler", services)
	}
	main := readRepoFile(t, "infra", "main.bicep")
	for name, v := range services {
		svc, _ := v.(map[string]any)
		where := "services." + name
		onlyKeys(t, where, svc, azdService)
		// azd deploys to the resource tagged azd-service-name: <service>,
		// the site, which the function app module tags with serviceName.
		if !strings.Contains(string(main), "serviceName: '"+name+"'") {
			t.Errorf("%s: main.bicep passes the function app no serviceName: %s", where, name)
		}
		for _, key := range azdFunctionRefuses {
			if _, has := svc[key]; has {
				t.Errorf("%s.%s: the schema refuses it for host function", where, key)
			}
		}
		for key, want := range map[string]string{"host": "function", "language": "custom", "dist": "dist/app.zip"} {
			if got, _ := svc[key].(string); got != want {
				t.Errorf("%s.%s = %q, want %q", where, key, got, want)
			}
		}
		project, _ := svc["project"].(string)
		if info, err := os.Stat(filepath.Join(root, project)); project == "" || err != nil || !info.IsDir() {
			t.Errorf("%s.project %q is not a folder: %v", where, project, err)
		}
		// scripts/build's default output, packed, is what azd deploys.
		build, err := os.ReadFile(filepath.Join(root, "scripts", "build"))
		if err != nil || !strings.Contains(string(build), "out=${out:-"+strings.TrimSuffix(svc["dist"].(string), ".zip")+"}") || !strings.Contains(string(build), `"$out.zip"`) {
			t.Errorf("%s.dist %q is not scripts/build's default output folder", where, svc["dist"])
		}

		hooks, _ := svc["hooks"].(map[string]any)
		onlyKeys(t, where+".hooks", hooks, azdServiceHooks)
		pre, _ := hooks["prepackage"].(map[string]any)
		onlyKeys(t, where+".hooks.prepackage", pre, azdHook)
		if shell, _ := pre["shell"].(string); shell != "sh" {
			t.Errorf("%s.hooks.prepackage.shell %q, want sh (the schema allows sh or pwsh; scripts/build is bash)", where, shell)
		}
		run, _ := pre["run"].(string)
		// Paths are relative to the service's folder.
		info, err := os.Stat(filepath.Join(root, project, run))
		if run == "" || err != nil || info.Mode()&0o111 == 0 {
			t.Errorf("%s.hooks.prepackage.run %q is not an executable file: %v", where, run, err)
		}
		if run != "scripts/build" {
			t.Errorf("%s.hooks.prepackage.run %q, want scripts/build", where, run)
		}
	}
}

func onlyKeys(t *testing.T, where string, m map[string]any, allowed []string) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: missing or not a mapping", where)
		return
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: %q is not a field azd's schema defines here", where, k)
		}
	}
}
