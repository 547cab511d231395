package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// devScript starts scripts/dev with ports of its own and its data in a
// temporary folder, and returns its ports and a channel that gets "" when
// it says the app runs, or all it printed when it ends first.
func devScript(t *testing.T, ports map[string]int) <-chan string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(t), "scripts", "dev"))
	cmd.Env = append(cmd.Environ(), "DEV_DIR="+t.TempDir())
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
	ready := make(chan string, 2)
	go func() {
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "The app runs at") {
				ready <- ""
			}
		}
		ready <- strings.Join(lines, "\n")
	}()
	return ready
}

// The README's first command: scripts/dev brings up Azurite, the emulator
// and the handler, and says so only when a sign-in can start at once.
func TestDevScript(t *testing.T) {
	ports := map[string]int{}
	select {
	case output := <-devScript(t, ports):
		if output != "" {
			t.Fatalf("scripts/dev ended:\n%s", output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev did not print its URL within 3 minutes")
	}
	c := newClient(t)
	r := do(t, c, "GET", fmt.Sprintf("http://localhost:%d/login", ports["PORT"]), nil)
	wantAuthorize := fmt.Sprintf("http://localhost:%d/contoso.onmicrosoft.com/b2c_1_signupsignin1/oauth2/v2.0/authorize?", ports["EMULATOR_BROWSER_PORT"])
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, wantAuthorize) {
		t.Fatalf("/login: %d %q", r.Status, r.Location)
	}
	if page := do(t, c, "GET", r.Location, nil); page.Status != 200 || !strings.Contains(page.Body, "Alice Example") {
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
	case output := <-devScript(t, ports):
		if output == "" {
			t.Fatal("scripts/dev said the app runs with Azurite's port taken")
		}
		if !strings.Contains(output, "Azurite did not come up") {
			t.Fatalf("scripts/dev did not name Azurite:\n%s", output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev neither failed nor finished within 3 minutes")
	}
}
