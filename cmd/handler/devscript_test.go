package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// The README's first command: scripts/dev brings up Azurite, the emulator
// and the handler, and a sign-in starts. It uses the emulator's fixed ports.
func TestDevScript(t *testing.T) {
	root := testenv.Root(t)
	port := testenv.FreePort(t)
	cmd := exec.Command(filepath.Join(root, "scripts", "dev"))
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("PORT=%d", port))
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
	ready := make(chan string, 1)
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
	select {
	case output := <-ready:
		if output != "" {
			t.Fatalf("scripts/dev ended:\n%s", output)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("scripts/dev did not print its URL within 3 minutes")
	}
	c := newClient(t)
	r := do(t, c, "GET", fmt.Sprintf("http://localhost:%d/login", port), nil)
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "http://localhost:9080/contoso.onmicrosoft.com/b2c_1_signupsignin1/oauth2/v2.0/authorize?") {
		t.Fatalf("/login: %d %q", r.Status, r.Location)
	}
	if page := do(t, c, "GET", r.Location, nil); page.Status != 200 || !strings.Contains(page.Body, "Alice Example") {
		t.Fatalf("emulator sign-in page: %d", page.Status)
	}
}
