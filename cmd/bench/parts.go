package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/appsettings"
)

// The settings of the local stand-ins, as scripts/dev uses them.
const (
	tenant       = "contoso"
	susi         = "B2C_1_signupsignin1"
	clientID     = "00000000-0000-0000-0000-00000000c11e"
	clientSecret = "local-dev-secret"
	apiScope     = "https://contoso.onmicrosoft.com/tasks-api/tasks.read"
	aliceID      = "a11ce000-0000-4000-8000-000000000001"
	// azuriteKey is Azurite's well-known development key, public by design.
	azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// proc is a started part: Azurite, the emulator or a handler.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start starts bin with its output in the file log. env nil inherits ours.
func start(name, log string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, env
	// Its own process group, and dead with us whatever way we end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop interrupts the part's process group (Azurite saves its data on
// SIGINT only) and kills it if it is not gone within 10 s. A part stopped
// already is left alone.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	syscall.Kill(-p.pid(), syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// tail is the end of the part's log.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// waitFor retries ready for up to 30 s while the part runs, and otherwise
// names the part that did not come up, with the end of its log.
func waitFor(ctx context.Context, p *proc, ready func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !p.exited() && ctx.Err() == nil {
		if ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s did not come up; the end of its log:\n%s", p.name, p.tail())
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ports are where the parts listen; 0 is a free port.
type ports struct {
	handler, azurite, tls, browser, api int
}

func (p *ports) fill() error {
	for _, port := range []*int{&p.handler, &p.azurite, &p.tls, &p.browser, &p.api} {
		if *port != 0 {
			continue
		}
		var err error
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	return nil
}

// parts are the running stand-ins and the handler's settings that point at
// them.
type parts struct {
	dir, handlerBin string
	ports           ports
	base            string // the handler's public base URL
	azurite         *proc
	emulator        *proc
	emuClient       *http.Client // trusts the emulator's CA
}

func (s *parts) tableEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", s.ports.azurite)
}

// sessionTable is the handler's table.
const sessionTable = "sessions"

func tableConnection(endpoint string) string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + azuriteKey + ";TableEndpoint=" + endpoint + ";"
}

func (s *parts) apiURL() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.ports.api) }

func (s *parts) discoveryURL() string {
	return fmt.Sprintf("https://localhost:%d/%s.onmicrosoft.com/%s/v2.0/.well-known/openid-configuration", s.ports.tls, tenant, susi)
}

// startStandIns starts Azurite and the emulator, with their data in dir,
// and waits until each answers.
func startStandIns(ctx context.Context, root, dir string, p ports) (*parts, error) {
	s := &parts{dir: dir, handlerBin: filepath.Join(dir, "handler"), ports: p, base: fmt.Sprintf("http://localhost:%d", p.handler)}
	var err error
	s.azurite, err = start("Azurite", filepath.Join(dir, "azurite.log"), nil, filepath.Join(root, "node_modules", ".bin", "azurite-table"),
		"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(p.azurite), "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck")
	if err != nil {
		return nil, fmt.Errorf("%w (run scripts/setup)", err)
	}
	caFile := filepath.Join(dir, "b2c-emulator-ca.pem")
	s.emulator, err = start("the B2C emulator", filepath.Join(dir, "b2c-emulator.log"), nil, filepath.Join(dir, "b2c-emulator"),
		"-tenant", tenant, "-client-id", clientID, "-client-secret", clientSecret, "-ca-out", caFile,
		"-redirect-uri", s.base+"/getAToken", "-tls-addr", fmt.Sprintf("127.0.0.1:%d", p.tls),
		"-browser-addr", fmt.Sprintf("127.0.0.1:%d", p.browser), "-api-addr", fmt.Sprintf("127.0.0.1:%d", p.api))
	if err != nil {
		s.stop()
		return nil, err
	}
	// Azurite's own word that it listens: another process could accept a
	// connection on its port.
	err = waitFor(ctx, s.azurite, func() bool {
		b, _ := os.ReadFile(s.azurite.log)
		return strings.Contains(string(b), "successfully")
	})
	if err == nil {
		err = waitFor(ctx, s.emulator, func() bool {
			if s.emuClient == nil {
				pem, err := os.ReadFile(caFile)
				pool := x509.NewCertPool()
				if err != nil || !pool.AppendCertsFromPEM(pem) {
					return false
				}
				s.emuClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			}
			resp, err := s.emuClient.Get(s.discoveryURL())
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *parts) stop() {
	s.emulator.stop()
	s.azurite.stop()
}

// handlerEnv is the handler's environment: ours without any of its
// settings, then the settings of scripts/dev pointed at these parts. port
// is where it listens; tableEndpoint is Azurite, or a proxy in front of it.
func (s *parts) handlerEnv(port int, tableEndpoint string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !appsettings.Has(name) {
			env = append(env, kv)
		}
	}
	return append(env,
		"B2C_TENANT_NAME="+tenant,
		fmt.Sprintf("B2C_TENANT_HOST=localhost:%d", s.ports.tls),
		"B2C_SIGNUP_SIGNIN_POLICY="+susi,
		"B2C_PROFILE_EDIT_POLICY=B2C_1_profileediting1",
		"B2C_PASSWORD_RESET_POLICY=B2C_1_passwordreset1",
		"B2C_CLIENT_ID="+clientID,
		"B2C_CLIENT_SECRET="+clientSecret,
		"B2C_CA_FILE="+filepath.Join(s.dir, "b2c-emulator-ca.pem"),
		"PUBLIC_BASE_URL="+s.base,
		"API_ENDPOINT="+s.apiURL(),
		"API_SCOPES="+apiScope,
		"SESSION_TABLE_CONNECTION_STRING="+tableConnection(tableEndpoint),
		"SESSION_TABLE_NAME="+sessionTable,
		"SESSION_IDLE_TIMEOUT=1h",
		"SESSION_ABSOLUTE_TIMEOUT=12h",
		"LOG_LEVEL=info",
		fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
	)
}

// startHandler starts a handler on the base URL's port and waits for its
// /readyz, which reaches Table Storage and the emulator as sign-in does.
func (s *parts) startHandler(ctx context.Context, name, tableEndpoint string) (*proc, error) {
	h, err := start(name, filepath.Join(s.dir, strings.ReplaceAll(name, " ", "-")+".log"), s.handlerEnv(s.ports.handler, tableEndpoint), s.handlerBin)
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, h, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", s.ports.handler))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

// build builds the emulator, the handler and the handler's test binary
// (for the Go benchmarks) into dir, all at the start, from one state of the
// source.
func build(ctx context.Context, root, dir string) error {
	for _, args := range [][]string{
		{"build", "-o", filepath.Join(dir, "b2c-emulator"), "./cmd/b2c-emulator"},
		{"build", "-o", filepath.Join(dir, "handler"), "./cmd/handler"},
		{"test", "-c", "-o", filepath.Join(dir, "handler.test"), "./cmd/handler"},
		{"build", "-o", filepath.Join(dir, "readserver"), "./cmd/bench/readserver"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// moduleRoot is the folder above the working directory that holds this
// module's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/b2c-functions-go/b2c-functions-go\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of this module above the working directory")
		}
		dir = parent
	}
}
