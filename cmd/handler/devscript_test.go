package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// devRun is what scripts/dev printed: up to "The app runs at" when ready,
// else all of it.
type devRun struct {
	ready  bool
	output string
}

// devScript starts scripts/dev with ports of its own and its data in a
// temporary folder, and returns its ports and a channel that gets what it
// printed once it says the app runs, or when it ends first. env adds
// settings of its own.
func devScript(t *testing.T, ports map[string]int, args []string, env ...string) <-chan devRun {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "dev"), args...)
	cmd.Env = append(append(cmd.Environ(), "DEV_DIR="+t.TempDir()), env...)
	for _, name := range []string{"PORT", "AZURITE_PORT", "EMULATOR_TLS_PORT", "EMULATOR_BROWSER_PORT", "EMULATOR_API_PORT"} {
		if ports[name] == 0 {
			ports[name] = testenv.FreePort(t)
		}
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", name, ports[name]))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	ready := make(chan devRun, 2)
	go func() {
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "The app runs at") {
				ready <- devRun{ready: true, output: strings.Join(lines, "\n")}
			}
		}
		ready <- devRun{output: strings.Join(lines, "\n")}
	}()
	return ready
}

// The README's first command: scripts/dev brings up Azurite, the emulator
// and the handler, and says so only when a sign-in can start at once and
// doctor passed every check.
func TestDevScript(t *testing.T) {
	ports := map[string]int{}
	select {
	case run := <-devScript(t, ports, nil):
		if !run.ready {
			t.Fatalf("scripts/dev ended:\n%s", run.output)
		}
		for _, check := range []string{"✓ user flow B2C_1_signupsignin1:", "✓ client secret:", "✓ redirect URI ", "✓ post-logout URI ", "✓ API scopes:", "✓ session table sessions:"} {
			if !strings.Contains(run.output, check) {
				t.Errorf("doctor did not print %q before the app was said to run:\n%s", check, run.output)
			}
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev did not print its URL within 3 minutes")
	}
	c := testenv.NewBrowser(t)
	r := testenv.Do(t, c, "GET", fmt.Sprintf("http://localhost:%d/login", ports["PORT"]), nil)
	wantAuthorize := fmt.Sprintf("http://localhost:%d/contoso.onmicrosoft.com/b2c_1_signupsignin1/oauth2/v2.0/authorize?", ports["EMULATOR_BROWSER_PORT"])
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, wantAuthorize) {
		t.Fatalf("/login: %d %q", r.Status, r.Location)
	}
	if page := testenv.Do(t, c, "GET", r.Location, nil); page.Status != 200 || !strings.Contains(page.Body, "Alice Example") {
		t.Fatalf("emulator sign-in page: %d", page.Status)
	}
}

// scripts/dev --external-id: the same, with an External ID tenant.
func TestDevScriptExternalID(t *testing.T) {
	ports := map[string]int{}
	select {
	case run := <-devScript(t, ports, []string{"--external-id"}):
		if !run.ready {
			t.Fatalf("scripts/dev --external-id ended:\n%s", run.output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev --external-id did not print its URL within 3 minutes")
	}
	c := testenv.NewBrowser(t)
	r := testenv.Do(t, c, "GET", fmt.Sprintf("http://localhost:%d/login", ports["PORT"]), nil)
	// No user flow in the path: the tenant ID.
	wantAuthorize := fmt.Sprintf("http://localhost:%d/00000000-0000-0000-0000-000000000b2c/oauth2/v2.0/authorize?", ports["EMULATOR_BROWSER_PORT"])
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, wantAuthorize) {
		t.Fatalf("/login: %d %q, want %s…", r.Status, r.Location, wantAuthorize)
	}
	if page := testenv.Do(t, c, "GET", r.Location, nil); page.Status != 200 || !strings.Contains(page.Body, "Alice Example") {
		t.Fatalf("emulator sign-in page: %d", page.Status)
	}
}

// A part that cannot start is named, and the script does not claim the app
// runs.
func TestDevScriptNamesWhatFailed(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ports := map[string]int{"AZURITE_PORT": taken.Addr().(*net.TCPAddr).Port}
	select {
	case run := <-devScript(t, ports, nil):
		if run.ready {
			t.Fatal("scripts/dev said the app runs with Azurite's port taken")
		}
		if !strings.Contains(run.output, "Azurite did not come up") {
			t.Fatalf("scripts/dev did not name Azurite:\n%s", run.output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev neither failed nor finished within 3 minutes")
	}
}

// A setting the tenant would refuse, though the handler starts and /readyz
// answers: doctor's check fails, scripts/dev names it and does not claim
// the app runs.
func TestDevScriptStopsOnDoctor(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(testenv.Root(t), "local.settings.sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if err := json.Unmarshal(sample, &settings); err != nil {
		t.Fatal(err)
	}
	settings["Values"].(map[string]any)["B2C_PROFILE_EDIT_POLICY"] = "B2C_1_nosuchflow"
	file := filepath.Join(t.TempDir(), "local.settings.json")
	b, _ := json.Marshal(settings)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case run := <-devScript(t, map[string]int{}, nil, "DEV_SETTINGS="+file):
		if run.ready {
			t.Fatalf("scripts/dev said the app runs with an unknown user flow:\n%s", run.output)
		}
		if !strings.Contains(run.output, "scripts/dev: doctor failed: user flow B2C_1_nosuchflow") {
			t.Fatalf("scripts/dev did not name doctor's check:\n%s", run.output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev neither failed nor finished within 3 minutes")
	}
}
