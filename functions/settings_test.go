package functions_test

import (
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/appsettings"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// every15Minutes is the timer's schedule in a local run.
const every15Minutes = "0 */15 * * * *"

// localSettings is local.settings.json.
type localSettings struct {
	IsEncrypted bool
	Values      map[string]string
}

// notLocal are handler settings a local run leaves unset.
var notLocal = map[string]string{
	config.Port:               "the host passes the port",
	auth.EnvTableEndpoint:     "Azure's way to the table; locally SESSION_TABLE_CONNECTION_STRING",
	auth.EnvManagedIdentityID: "Azure's managed identity",
}

func TestLocalSettingsSample(t *testing.T) {
	root := testenv.Root(t)
	var s localSettings
	readJSON(t, filepath.Join(root, "local.settings.sample.json"), &s)
	want := map[string]string{
		// What the host reads.
		"FUNCTIONS_WORKER_RUNTIME":    "custom",
		"AzureWebJobsStorage":         "UseDevelopmentStorage=true",
		"AzureWebJobsDisableHomepage": "true",
		scheduleSetting:               every15Minutes,
	}
	for name, v := range want {
		if s.Values[name] != v {
			t.Errorf("%s = %q, want %q", name, s.Values[name], v)
		}
	}
	known := maps.Clone(want)
	for _, f := range loadFunctions(t, filepath.Join(root, "functions")) {
		for _, ref := range f.Refs {
			if _, ok := s.Values[ref]; !ok {
				t.Errorf("functions/%s/function.json references %%%s%%, which the sample does not set", f.Name, ref)
			}
			known[ref] = ""
		}
	}
	for _, setting := range appsettings.All {
		_, set := s.Values[setting.Name]
		switch why, skip := notLocal[setting.Name]; {
		case skip && set:
			t.Errorf("the sample sets %s: %s", setting.Name, why)
		case !skip && !set:
			t.Errorf("the sample lacks %s (%s)", setting.Name, setting.Description)
		}
		known[setting.Name] = ""
	}
	for name := range s.Values {
		if _, ok := known[name]; !ok {
			t.Errorf("the sample sets %s, which neither the host nor the handler reads", name)
		}
	}
	// The CA file is written when the emulator starts, beside the app.
	withoutCA := func(k string) string {
		if k == auth.EnvCAFile {
			return ""
		}
		return s.Values[k]
	}
	if _, err := auth.ConfigFromEnv(withoutCA); err != nil {
		t.Errorf("the sample's sign-in settings: %v", err)
	}
	if _, err := config.Load(func(k string) string { return s.Values[k] }, auth.EnvAPIScopes); err != nil {
		t.Errorf("the handler refuses the sample: %v", err)
	}
}

// TestVSCodeLaunch: the Delve launch runs the handler with the sample's
// settings, on the port the sample's PUBLIC_BASE_URL names (the emulator's
// redirect URI), and every task it needs exists.
func TestVSCodeLaunch(t *testing.T) {
	root := testenv.Root(t)
	var s localSettings
	readJSON(t, filepath.Join(root, "local.settings.sample.json"), &s)
	var launch struct {
		Version        string
		Configurations []struct {
			Name, Type, Request, Mode, Program, Cwd, PreLaunchTask, ProcessID string
			Env                                                               map[string]string
		}
	}
	readJSON(t, filepath.Join(root, ".vscode", "launch.json"), &launch)
	var tasks struct {
		Version string
		Tasks   []struct {
			Label     string
			DependsOn []string
		}
	}
	b, err := os.ReadFile(filepath.Join(root, ".vscode", "tasks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tasks); err != nil {
		t.Fatalf("tasks.json: %v", err)
	}
	labels := map[string]bool{}
	for _, task := range tasks.Tasks {
		labels[task.Label] = true
	}
	for _, task := range tasks.Tasks {
		for _, d := range task.DependsOn {
			if !labels[d] {
				t.Errorf("task %q depends on %q, which tasks.json lacks", task.Label, d)
			}
		}
	}

	requests := map[string]int{}
	for _, c := range launch.Configurations {
		requests[c.Request]++
		if c.PreLaunchTask != "" && !labels[c.PreLaunchTask] {
			t.Errorf("%q: preLaunchTask %q is not in tasks.json", c.Name, c.PreLaunchTask)
		}
		if c.Request != "launch" {
			continue
		}
		want := map[string]string{}
		for _, setting := range appsettings.All {
			if v, ok := s.Values[setting.Name]; ok {
				want[setting.Name] = v
			}
		}
		want[auth.EnvCAFile] = "${workspaceFolder}/" + path.Base(s.Values[auth.EnvCAFile])
		want[config.Port] = strings.TrimPrefix(s.Values[auth.EnvPublicBaseURL], "http://localhost:")
		if !maps.Equal(c.Env, want) {
			t.Errorf("%q env differs from local.settings.sample.json:\n got %v\nwant %v", c.Name, c.Env, want)
		}
	}
	if requests["launch"] != 1 || requests["attach"] != 1 {
		t.Errorf("launch.json has %v configurations, want one launch and one attach", requests)
	}
}
