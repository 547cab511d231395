// Package testenv starts the real local stand-ins that tests run against:
// Azurite for Table Storage, and (in other files) the B2C emulator and a
// headless browser. Tools come from the project's own setup script; a
// missing tool fails the test with the command that installs it.
package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// AzuriteAccountKey is Azurite's well-known development key, public by
// design.
const AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Root is the module's root folder.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := root()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Azurite is a running Azurite Table service.
type Azurite struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	// args are more flags for azurite-table (HTTPS and OAuth: see
	// azurite_oauth.go).
	args []string
}

var (
	sharedOnce    sync.Once
	sharedAzurite *Azurite
	sharedErr     error
)

// SharedAzuritePort names the environment variable that gives
// SharedAzurite the Table port of an Azurite already running on loopback,
// to use instead of starting one: scripts/bench runs its Go benchmarks on
// the Azurite its other measurements use.
const SharedAzuritePort = "TESTENV_SHARED_AZURITE_PORT"

// SharedAzurite returns an in-memory Azurite shared by the tests of one test
// binary; it dies with the binary. With SharedAzuritePort set, it is that
// one instead, which the binary neither starts nor stops. A failed start
// fails every test that asks for it, each with the same error.
func SharedAzurite(t testing.TB) *Azurite {
	t.Helper()
	sharedOnce.Do(func() {
		if v := os.Getenv(SharedAzuritePort); v != "" {
			port, err := strconv.Atoi(v)
			if err != nil || port <= 0 || port > 65535 {
				sharedErr = fmt.Errorf("testenv: %s=%q is not a port", SharedAzuritePort, v)
				return
			}
			sharedAzurite = &Azurite{port: port}
			return
		}
		a := &Azurite{}
		if a.bin, sharedErr = azuriteBin(); sharedErr == nil {
			if sharedErr = a.startOnFreePort(); sharedErr == nil {
				sharedAzurite = a
			}
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedAzurite
}

// NewAzurite starts an Azurite of the test's own that keeps its data on
// disk, so a test can stop it and start it again with the data intact.
func NewAzurite(t testing.TB) *Azurite {
	t.Helper()
	bin, err := azuriteBin()
	if err != nil {
		t.Fatal(err)
	}
	a := &Azurite{bin: bin, dir: t.TempDir()}
	if err := a.startOnFreePort(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

func azuriteBin() (string, error) {
	root, err := root()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "node_modules", ".bin", "azurite-table")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("testenv: %s is missing: run scripts/setup", bin)
	}
	return bin, nil
}

// startOnFreePort starts Azurite on a port that was free a moment ago, and
// on another if a process running beside the tests took it meanwhile.
func (a *Azurite) startOnFreePort() error {
	var err error
	for range 3 {
		if a.port, err = freePort(); err != nil {
			return err
		}
		if err = a.Start(); err == nil {
			return nil
		}
	}
	return err
}

// Start starts Azurite and waits until it says it listens. Its own word
// counts, not a connection: another process on the port would accept one.
func (a *Azurite) Start() error {
	args := []string{"--tableHost", "127.0.0.1", "--tablePort", fmt.Sprint(a.port), "--disableTelemetry", "--skipApiVersionCheck"}
	if a.dir == "" {
		args = append(args, "--inMemoryPersistence")
	} else {
		args = append(args, "--location", a.dir)
	}
	args = append(args, a.args...)
	a.cmd = exec.Command(a.bin, args...)
	// Die with the test binary, whatever way it ends.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	a.cmd.Stderr = a.cmd.Stdout
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("testenv: starting azurite: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		var said []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			said = append(said, sc.Text())
			if strings.Contains(sc.Text(), "successfully") {
				ready <- nil
				io.Copy(io.Discard, out) // keep draining, or Azurite blocks
				return
			}
		}
		ready <- fmt.Errorf("testenv: azurite on %s exited: %s", a.addr(), strings.Join(said, " | "))
	}()
	select {
	case err := <-ready:
		if err != nil {
			a.Stop()
		}
		return err
	case <-time.After(30 * time.Second):
		a.Stop()
		return fmt.Errorf("testenv: azurite did not listen on %s within 30s", a.addr())
	}
}

// Stop stops Azurite, letting it save its data first.
func (a *Azurite) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	syscall.Kill(-a.cmd.Process.Pid, syscall.SIGINT) // Azurite saves on SIGINT only
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	a.cmd = nil
}

func (a *Azurite) addr() string { return fmt.Sprintf("127.0.0.1:%d", a.port) }

// ConnectionString is what SESSION_TABLE_CONNECTION_STRING takes.
func (a *Azurite) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteAccountKey +
		";TableEndpoint=http://" + a.addr() + "/devstoreaccount1;"
}

// NewTable creates a table with a name of its own for one test and returns
// a client for it that does not retry, with the per-call policies given.
func (a *Azurite) NewTable(t testing.TB, perCall ...policy.Policy) (name string, table *aztables.Client) {
	t.Helper()
	// Table names are 3-63 letters and digits.
	name = "t" + strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, t.Name())
	name = name[:min(len(name), 50)]
	name = fmt.Sprintf("%s%d", name, time.Now().UnixNano()%1e9)
	svc, err := aztables.NewServiceClientFromConnectionString(a.ConnectionString(), &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}, PerCallPolicies: perCall},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := svc.CreateTable(ctx, name, nil); err != nil {
		t.Fatalf("testenv: creating table %q: %v", name, err)
	}
	return name, svc.NewClient(name)
}

// NewProxiedTable creates a table as NewTable does and returns a client of
// it that reaches Azurite through a FaultProxy, with the SDK retrying as
// retry says: the proxy counts the connections the client makes, and can
// lose a reply the client then retries.
func (a *Azurite) NewProxiedTable(t testing.TB, retry policy.RetryOptions) (*FaultProxy, *aztables.Client) {
	t.Helper()
	name, _ := a.NewTable(t)
	proxy := NewFaultProxy(t, func(string) string { return a.addr() })
	conn := strings.Replace(a.ConnectionString(), a.addr(), "127.0.0.1:"+proxy.Port(), 1)
	svc, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: retry}})
	if err != nil {
		t.Fatal(err)
	}
	return proxy, svc.NewClient(name)
}

// ReservePort holds a free TCP port on loopback until release, so that
// servers started meanwhile on port 0 (an emulator's listeners) cannot be
// given it; release it just before the program that listens on it starts.
func ReservePort(t testing.TB) (port int, release func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { l.Close() }) }
	t.Cleanup(release)
	return l.Addr().(*net.TCPAddr).Port, release
}

// FreePort returns a TCP port on loopback that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
