package infra_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// What the pipeline promises, beyond what actionlint checks (scripts/test
// runs it): tests on push and pull request; Azure reached with OIDC only;
// the parameter files given every variable they read, but never the B2C
// secret; on main, deploy, publish, smoke requests and doctor.
func TestPipeline(t *testing.T) {
	root := moduleRoot(t)
	raw := readRepoFile(t, ".github", "workflows", "ci.yml")
	text := string(raw)
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	for _, event := range []string{"push", "pull_request"} {
		if _, ok := wf.On[event]; !ok {
			t.Errorf("the workflow does not run on %s", event)
		}
	}
	// Once per change: a pull request from a branch of this repository
	// would otherwise run it twice, for the push and for the pull request.
	push, _ := wf.On["push"].(map[string]any)
	if branches, _ := push["branches"].([]any); len(branches) != 1 || branches[0] != "main" {
		t.Errorf("on.push.branches %v: the workflow must run on pushes to main only, and on pull requests", push["branches"])
	}
	if m := regexp.MustCompile(`secrets\.[A-Za-z_]+`).FindString(text); m != "" {
		t.Errorf("the workflow reads %s: Azure is reached with OIDC, and the B2C secret stays in the vault", m)
	}
	if strings.Contains(text, "B2C_CLIENT_SECRET:") {
		t.Error("the workflow sets B2C_CLIENT_SECRET: the secret stays in the vault")
	}
	// The vault's secret is kept only once it is seen there, never on
	// trust: a hard-coded B2C_CLIENT_SECRET_IN_VAULT would deploy an app
	// whose Key Vault reference resolves to nothing.
	// Anywhere: workflow, job or step env, or a line into GITHUB_ENV; the
	// one comment that names it is at the top.
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "B2C_CLIENT_SECRET_IN_VAULT") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			t.Errorf("ci.yml:%d sets B2C_CLIENT_SECRET_IN_VAULT: only scripts/secret-in-vault may, once it has seen the secret", i+1)
		}
	}
	// It finds the secret through Resource Manager: the vault's data plane
	// is closed with VNET_ENABLED, and azd names its deployments
	// <environment>-<time>, not main.
	script := string(readRepoFile(t, "scripts", "secret-in-vault"))
	if !strings.Contains(script, `az resource show --ids "$vault_id/secrets/$secret"`) || !strings.Contains(script, `echo "B2C_CLIENT_SECRET_IN_VAULT=true"`) {
		t.Error("scripts/secret-in-vault must print B2C_CLIENT_SECRET_IN_VAULT=true only after Resource Manager finds the secret (az resource show --ids <vault ID>/secrets/<name>)")
	}
	if strings.Contains(script, "az keyvault secret") || strings.Contains(script, " -n main") {
		t.Error("scripts/secret-in-vault reads the vault's data plane or a deployment named main: neither is there for a private vault or an azd deployment")
	}
	at := func(job, want string) int {
		return slices.IndexFunc(wf.Jobs[job].Steps, func(s step) bool { return strings.Contains(s.Run, want) })
	}
	for job, azure := range map[string]string{"preview": "az deployment group what-if", "deploy": "az deployment group create"} {
		if check, run := at(job, `scripts/secret-in-vault >>"$GITHUB_ENV"`), at(job, azure); check < 0 || run < check {
			t.Errorf("%s: scripts/secret-in-vault (step %d) must set B2C_CLIENT_SECRET_IN_VAULT before %s (step %d)", job, check, azure, run)
		}
	}
	if publish, restart, smoke := at("deploy", "func azure functionapp publish"), at("deploy", "az functionapp restart"), at("deploy", "/readyz"); restart < publish || smoke < restart {
		t.Errorf("deploy: after publishing (step %d), the app restarts to resolve its Key Vault references again (step %d) before /readyz is polled (step %d)", publish, restart, smoke)
	}

	// Every variable a parameter file reads, but the secret and the
	// one-off recovery switch.
	reads := map[string]bool{}
	for _, f := range []string{"dev.bicepparam", "prod.bicepparam"} {
		b, err := os.ReadFile(filepath.Join(root, "infra", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`readEnvironmentVariable\('([A-Z0-9_]+)'`).FindAllStringSubmatch(string(b), -1) {
			reads[m[1]] = true
		}
	}
	given := strings.Fields(wf.Env["SETTINGS"])
	for name := range reads {
		switch name {
		case "B2C_CLIENT_SECRET", "KEY_VAULT_RECOVER", "B2C_CLIENT_SECRET_IN_VAULT":
			continue
		}
		if !slices.Contains(given, name) {
			t.Errorf("a parameter file reads %s, which the pipeline's SETTINGS does not pass on", name)
		}
	}

	test, ok := wf.Jobs["test"]
	if !ok || test.If != "" || !slices.ContainsFunc(test.Steps, func(s step) bool { return strings.TrimSpace(s.Run) == "scripts/test" }) {
		t.Error("no job runs scripts/test on every push and pull request")
	}
	runs := func(job string) string {
		var all []string
		for _, s := range wf.Jobs[job].Steps {
			all = append(all, s.Run)
		}
		return strings.Join(all, "\n")
	}
	for job, want := range map[string][]string{
		"preview": {"az bicep build", "az deployment group what-if"},
		"deploy":  {"az deployment group create", "func azure functionapp publish", "--custom", "/healthz", "/readyz", "./cmd/doctor"},
	} {
		for _, w := range want {
			if !strings.Contains(runs(job), w) {
				t.Errorf("job %s does not run %q", job, w)
			}
		}
	}
	if !strings.Contains(wf.Jobs["preview"].If, "pull_request") || !strings.Contains(wf.Jobs["deploy"].If, "refs/heads/main") {
		t.Errorf("preview runs on pull requests (%q), deploy on main (%q)", wf.Jobs["preview"].If, wf.Jobs["deploy"].If)
	}
	for name, job := range wf.Jobs {
		for _, s := range job.Steps {
			if !strings.HasPrefix(s.Uses, "azure/login@") {
				continue
			}
			if job.Permissions["id-token"] != "write" {
				t.Errorf("job %s logs in to Azure without permissions id-token: write (OIDC)", name)
			}
			for _, in := range []string{"client-id", "tenant-id", "subscription-id"} {
				if !strings.HasPrefix(s.With[in], "${{ vars.") {
					t.Errorf("job %s: azure/login %s = %q, want a repository variable", name, in, s.With[in])
				}
			}
			if _, has := s.With["creds"]; has {
				t.Errorf("job %s: azure/login with creds, a stored secret", name)
			}
		}
	}
}

// What the release workflow promises: it runs on version tags only, refuses
// a tag that is not vX.Y.Z or has no section in CHANGELOG.md, tests before
// it releases, and attaches the app folder's zip; only the release job may
// write, and every action is pinned to a commit.
func TestRelease(t *testing.T) {
	raw := readRepoFile(t, ".github", "workflows", "release.yml")
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	push, _ := wf.On["push"].(map[string]any)
	if tags, _ := push["tags"].([]any); len(wf.On) != 1 || len(push) != 1 || len(tags) != 1 || tags[0] != "v*.*.*" {
		t.Errorf("on %v: the release must run on pushes of tags v*.*.* alone", wf.On)
	}
	if m := regexp.MustCompile(`secrets\.[A-Za-z_]+`).FindString(string(raw)); m != "" {
		t.Errorf("the release reads %s: github.token is all it needs", m)
	}
	if wf.Permissions["contents"] != "read" {
		t.Errorf("workflow permissions %v, want contents: read, with write for the release job alone", wf.Permissions)
	}
	for name, job := range wf.Jobs {
		if want := map[bool]string{true: "write", false: ""}[name == "release"]; job.Permissions["contents"] != want {
			t.Errorf("job %s: contents: %q, want %q", name, job.Permissions["contents"], want)
		}
		for _, s := range job.Steps {
			if s.Uses != "" && !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(s.Uses) {
				t.Errorf("job %s uses %s: pin it to a full commit SHA", name, s.Uses)
			}
		}
	}
	at := func(job, want string) int {
		return slices.IndexFunc(wf.Jobs[job].Steps, func(s step) bool { return strings.Contains(s.Run, want) })
	}
	if tag, test := at("test", "CHANGELOG.md"), at("test", "scripts/test"); tag < 0 || test < tag {
		t.Errorf("test: the tag and changelog check (step %d) comes before scripts/test, every test .ci/run runs (step %d)", tag, test)
	}
	if wf.Jobs["release"].Needs != "test" {
		t.Errorf("release needs %v, want test", wf.Jobs["release"].Needs)
	}
	if build, release := at("release", "scripts/build"), at("release", `gh release create "$GITHUB_REF_NAME" dist/app.zip`); build < 0 || release < build {
		t.Errorf("release: scripts/build (step %d) before gh release create with dist/app.zip (step %d)", build, release)
	}

	// The check itself, run on tags against a changelog with one release.
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the tag check with")
	}
	script := wf.Jobs["test"].Steps[at("test", "CHANGELOG.md")].Run
	dir := t.TempDir()
	changelog := "# Changelog\n\n## [Unreleased]\n\n## [1.2.3] - 2026-01-02\n\n### Fixed\n\n- 1.20.3 notes\n"
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changelog), 0o600); err != nil {
		t.Fatal(err)
	}
	for tag, ok := range map[string]bool{
		"v1.2.3": true, "v1.2.4": false, "v1.20.3": false, "v1x2x3": false, "v1.2.3-rc.1": false, "v01.2.3": false, "1.2.3": false,
	} {
		cmd := exec.Command(bash, "-e", "-c", script)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GITHUB_REF_NAME="+tag)
		if out, err := cmd.CombinedOutput(); (err == nil) != ok {
			t.Errorf("tag %s: the check %s, want it to %s\n%s", tag, map[bool]string{true: "passed", false: "failed"}[err == nil], map[bool]string{true: "pass", false: "fail"}[ok], out)
		}
	}

	// The notes are the version's section, without the next one's.
	notes := wf.Jobs["release"].Steps[at("release", "notes.md")].Run
	changelog += "\n## [1.2.2] - 2026-01-01\n\n- older notes\n"
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changelog), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, "-e", "-c", notes)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "GITHUB_REF_NAME=v1.2.3", "RUNNER_TEMP="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release notes: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "notes.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(got); !strings.Contains(got, "- 1.20.3 notes") || strings.Contains(got, "older") || strings.Contains(got, "Unreleased") {
		t.Errorf("release notes for v1.2.3:\n%s", got)
	}
}

// workflow is the part of a GitHub Actions workflow the tests read.
type workflow struct {
	On          map[string]any    `yaml:"on"`
	Env         map[string]string `yaml:"env"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		If          string            `yaml:"if"`
		Needs       any               `yaml:"needs"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []step            `yaml:"steps"`
	} `yaml:"jobs"`
}

type step struct {
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Run  string            `yaml:"run"`
}
