// Package functions_test holds the Functions app's contract with the Go
// handler: each function.json against the routes in handlers.Routes, the
// host.json and local settings the host reads, and the app folder that
// scripts/build assembles.
package functions_test

import (
	"bytes"
	"debug/elf"
	"debug/pe"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/handlers"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// binding is one entry of a function.json "bindings" list.
type binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	AuthLevel string   `json:"authLevel"`
	Methods   []string `json:"methods"`
	Route     string   `json:"route"`
	Schedule  string   `json:"schedule"`
}

// function is one function folder.
type function struct {
	Name     string
	Bindings []binding `json:"bindings"`
	// Refs are the %NAME% app settings it references.
	Refs []string
}

// The settings the timer's schedule comes from, and its local value.
const (
	scheduleSetting = "SWEEP_SCHEDULE"
	every15Minutes  = "0 */15 * * * *"
)

var settingRef = regexp.MustCompile(`%([A-Za-z0-9_.:-]+)%`)

// readJSON decodes a file strictly: a misspelt key ("method") fails.
func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// loadFunctions reads the function folders directly under dir, the only
// place the host looks for them.
func loadFunctions(t *testing.T, dir string) []function {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no function folders in %q", dir)
	}
	var fns []function
	for _, f := range files {
		fn := function{Name: filepath.Base(filepath.Dir(f))}
		readJSON(t, f, &fn)
		b, _ := os.ReadFile(f)
		for _, m := range settingRef.FindAllStringSubmatch(string(b), -1) {
			fn.Refs = append(fn.Refs, m[1])
		}
		fns = append(fns, fn)
	}
	return fns
}

// trigger returns the function's trigger binding after checking that the
// bindings are exactly what the handler needs: one anonymous httpTrigger
// in and one http out (the only shape the host forwards raw), or one timer
// trigger whose schedule is an app setting.
func (f function) trigger() (binding, error) {
	b := f.Bindings
	switch {
	case len(b) == 2 && b[0].Type == "httpTrigger":
		in, out := b[0], b[1]
		if in.Direction != "in" || in.Name == "" || in.AuthLevel != "anonymous" || in.Schedule != "" {
			return in, fmt.Errorf("%s: want an anonymous httpTrigger in with a name, got %+v", f.Name, in)
		}
		for _, m := range in.Methods {
			if m != strings.ToLower(m) || !slices.Contains(allMethods, strings.ToUpper(m)) {
				return in, fmt.Errorf("%s: method %q is not a lower-case HTTP method", f.Name, m)
			}
		}
		if !reflect.DeepEqual(out, binding{Type: "http", Direction: "out", Name: out.Name}) || out.Name == "" {
			return in, fmt.Errorf("%s: want one http out after the trigger, got %+v", f.Name, out)
		}
		return in, nil
	case len(b) == 1 && b[0].Type == "timerTrigger":
		if !reflect.DeepEqual(b[0], binding{Type: "timerTrigger", Direction: "in", Name: b[0].Name, Schedule: "%" + scheduleSetting + "%"}) || b[0].Name == "" {
			return b[0], fmt.Errorf("%s: want a timerTrigger in with schedule %%%s%%, got %+v", f.Name, scheduleSetting, b[0])
		}
		return b[0], nil
	}
	return binding{}, fmt.Errorf("%s: bindings %+v are neither httpTrigger in + http out nor one timerTrigger", f.Name, b)
}

func TestFunctionBindings(t *testing.T) {
	for _, f := range loadFunctions(t, filepath.Join(testenv.Root(t), "functions")) {
		if _, err := f.trigger(); err != nil {
			t.Error(err)
		}
	}
}

// allMethods are the methods tried where a route allows any.
var allMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// hostRoute is an HTTP function's route as the Functions host matches it.
// Only literal segments and a final catch-all ({*name}) are modelled; the
// test fails on anything else rather than guess.
type hostRoute struct {
	function string
	segments []string
	methods  []string // upper case; nil allows every method
}

func isParam(segment string) bool { return strings.HasPrefix(segment, "{") }

func newHostRoute(name string, trigger binding) (hostRoute, error) {
	r := hostRoute{function: name, segments: strings.Split(trigger.Route, "/")}
	if trigger.Route == "" {
		// An empty route is the function's name.
		r.segments = []string{name}
	}
	for i, s := range r.segments {
		if isParam(s) && (!strings.HasPrefix(s, "{*") || i != len(r.segments)-1) || !isParam(s) && strings.ContainsAny(s, "{}") {
			return r, fmt.Errorf("%s: route %q: only literal segments and a final {*catchall} are modelled", name, trigger.Route)
		}
	}
	for _, m := range trigger.Methods {
		r.methods = append(r.methods, strings.ToUpper(m))
	}
	return r, nil
}

func (r hostRoute) matches(method, urlPath string) bool {
	if r.methods != nil && !slices.Contains(r.methods, method) {
		return false
	}
	var segs []string
	if p := strings.Trim(urlPath, "/"); p != "" {
		segs = strings.Split(p, "/")
	}
	for i, s := range r.segments {
		if isParam(s) {
			return true // the catch-all takes the rest, even nothing
		}
		if i >= len(segs) || !strings.EqualFold(s, segs[i]) {
			return false
		}
	}
	return len(segs) == len(r.segments)
}

// compareRoutes orders routes as the host's WebJobsRouteBuilder does: at
// the first difference a literal segment before a parameter, literals by
// text; a longer template before its prefix.
func compareRoutes(x, y hostRoute) int {
	for i, xs := range x.segments {
		if i >= len(y.segments) {
			return -1
		}
		ys := y.segments[i]
		switch {
		case !isParam(xs) && isParam(ys):
			return -1
		case isParam(xs) && !isParam(ys):
			return 1
		case !isParam(xs):
			if c := strings.Compare(strings.ToLower(xs), strings.ToLower(ys)); c != 0 {
				return c
			}
		}
	}
	if len(y.segments) > len(x.segments) {
		return 1
	}
	return 0
}

// samplePaths are request paths a route serves: its literal prefix, and
// for a catch-all also a deeper unknown path.
func samplePaths(prefix string, catchAll bool) []string {
	if catchAll {
		return []string{prefix, prefix + "no/such/page"}
	}
	return []string{prefix}
}

func (r hostRoute) samplePaths() []string {
	last := len(r.segments) - 1
	if !isParam(r.segments[last]) {
		return samplePaths("/"+strings.Join(r.segments, "/"), false)
	}
	prefix := "/" + strings.Join(r.segments[:last], "/")
	if last > 0 {
		prefix += "/"
	}
	return samplePaths(prefix, true)
}

func (r hostRoute) allowed() []string {
	if r.methods == nil {
		return allMethods
	}
	return r.methods
}

// goRouter is the handler's router, built from handlers.Routes as the
// handler builds it, answering which function's route serves a request.
type goRouter struct {
	mux      *http.ServeMux
	function map[string]string // registered pattern → function
}

func newGoRouter() goRouter {
	g := goRouter{mux: http.NewServeMux(), function: map[string]string{}}
	for _, r := range handlers.Routes() {
		p := strings.TrimSpace(r.Method + " " + r.Pattern)
		g.mux.Handle(p, http.NotFoundHandler())
		g.function[p] = r.Function
	}
	return g
}

func (g goRouter) serves(method, urlPath string) string {
	_, pattern := g.mux.Handler(httptest.NewRequest(method, urlPath, nil))
	return g.function[pattern]
}

// goMethods are the methods a Go route serves: a GET pattern serves HEAD
// too, and no method means every one.
func goMethods(r handlers.Route) []string {
	switch r.Method {
	case "":
		return allMethods
	case "GET":
		return []string{"GET", "HEAD"}
	}
	return []string{r.Method}
}

// goSamplePaths are request paths a net/http pattern serves.
func goSamplePaths(t *testing.T, pattern string) []string {
	t.Helper()
	p := strings.TrimSuffix(pattern, "{$}")
	if strings.ContainsAny(p, "{}") {
		t.Fatalf("pattern %q: wildcards are not modelled", pattern)
	}
	return samplePaths(p, p == pattern && strings.HasSuffix(p, "/"))
}

// TestRoutesMatch holds the function.json routes and the Go router
// together: every request the host routes to a function, the Go router
// serves with that function's route, and the other way round. A timer
// function's Go route is the host's invocation, POST /{function}.
func TestRoutesMatch(t *testing.T) {
	var routes []hostRoute
	timers := map[string]bool{}
	for _, f := range loadFunctions(t, filepath.Join(testenv.Root(t), "functions")) {
		trigger, err := f.trigger()
		if err != nil {
			t.Fatal(err)
		}
		if trigger.Type == "timerTrigger" {
			timers[f.Name] = true
			continue
		}
		r, err := newHostRoute(f.Name, trigger)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r)
	}
	slices.SortFunc(routes, compareRoutes)
	hostPicks := func(method, urlPath string) string {
		for _, r := range routes {
			if r.matches(method, urlPath) {
				return r.function
			}
		}
		return "(the host's 404)"
	}
	router := newGoRouter()

	for _, r := range routes {
		for _, m := range r.allowed() {
			for _, p := range r.samplePaths() {
				if got := router.serves(m, p); got != r.function {
					t.Errorf("%s %s: the host runs function %s, the Go router serves %q's route", m, p, r.function, got)
				}
			}
		}
	}
	for _, r := range handlers.Routes() {
		if timers[r.Function] {
			if r.Method != "POST" || r.Pattern != "/"+r.Function {
				t.Errorf("Go route %s %s of timer function %s: the host invokes it at POST /%s", r.Method, r.Pattern, r.Function, r.Function)
			}
			continue
		}
		for _, m := range goMethods(r) {
			for _, p := range goSamplePaths(t, r.Pattern) {
				if got := hostPicks(m, p); got != r.Function {
					t.Errorf("Go route %q %s of %s: the host runs %s for %s %s", r.Method, r.Pattern, r.Function, got, m, p)
				}
			}
		}
	}
	for name := range timers {
		if !slices.ContainsFunc(handlers.Routes(), func(r handlers.Route) bool { return r.Function == name }) {
			t.Errorf("timer function %s has no Go route", name)
		}
	}
}

// hostJSON is the part of host.json the handler depends on.
type hostJSON struct {
	Version       string `json:"version"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string `json:"defaultExecutablePath"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
	ExtensionBundle struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"extensionBundle"`
	Logging struct {
		LogLevel            map[string]string `json:"logLevel"`
		ApplicationInsights json.RawMessage   `json:"applicationInsights"`
	} `json:"logging"`
}

func TestHostJSON(t *testing.T) {
	var h hostJSON
	readJSON(t, filepath.Join(testenv.Root(t), "host.json"), &h)
	checks := []struct {
		what      string
		got, want any
	}{
		{"version", h.Version, "2.0"},
		{"customHandler.description.defaultExecutablePath", h.CustomHandler.Description.DefaultExecutablePath, "handler"},
		{"customHandler.enableForwardingHttpRequest", h.CustomHandler.EnableForwardingHTTPRequest, true},
		{"extensions.http.routePrefix set", h.Extensions.HTTP.RoutePrefix != nil, true},
		{"extensionBundle.id", h.ExtensionBundle.ID, "Microsoft.Azure.Functions.ExtensionBundle"},
		{"extensionBundle.version", h.ExtensionBundle.Version, "[4.*, 5.0.0)"},
		// The handler's stdout reaches Application Insights in this category.
		{"logging.logLevel Host.Function.Console", h.Logging.LogLevel["Host.Function.Console"], "Information"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("host.json %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if p := h.Extensions.HTTP.RoutePrefix; p != nil && *p != "" {
		t.Errorf("host.json extensions.http.routePrefix = %q, want \"\": the routes are the handler's paths", *p)
	}
}

// localSettings is local.settings.json.
type localSettings struct {
	IsEncrypted bool
	Values      map[string]string
}

// notLocal are handler settings a local run leaves unset.
var notLocal = map[string]string{
	config.Port:              "the host passes the port",
	config.TableEndpoint:     "Azure's way to the table; locally SESSION_TABLE_CONNECTION_STRING",
	config.ManagedIdentityID: "Azure's managed identity",
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
	for _, setting := range config.Settings {
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
	if _, err := config.Load(func(k string) string { return s.Values[k] }); err != nil {
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
		for _, setting := range config.Settings {
			if v, ok := s.Values[setting.Name]; ok {
				want[setting.Name] = v
			}
		}
		want[config.CAFile] = "${workspaceFolder}/" + path.Base(s.Values[config.CAFile])
		want[config.Port] = strings.TrimPrefix(s.Values[config.PublicBaseURL], "http://localhost:")
		if !maps.Equal(c.Env, want) {
			t.Errorf("%q env differs from local.settings.sample.json:\n got %v\nwant %v", c.Name, c.Env, want)
		}
	}
	if requests["launch"] != 1 || requests["attach"] != 1 {
		t.Errorf("launch.json has %v configurations, want one launch and one attach", requests)
	}
}

// TestBuild runs scripts/build and checks the folder it assembles: what
// the host needs at its root, and the binary at the path host.json names.
func TestBuild(t *testing.T) {
	root := testenv.Root(t)
	source := loadFunctions(t, filepath.Join(root, "functions"))
	cases := []struct {
		name  string
		args  []string
		env   []string
		exe   string
		check func(t *testing.T, bin string)
	}{
		{"azure", nil, nil, "handler", checkAzureBinary},
		// A Windows developer's func start: handler.exe, named in host.json.
		{"native windows", []string{"--native"}, []string{"GOOS=windows", "GOARCH=amd64"}, "handler.exe", checkWindowsBinary},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "app")
			cmd := exec.Command(filepath.Join(root, "scripts", "build"), append(c.args, out)...)
			cmd.Env = append(os.Environ(), c.env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scripts/build %v: %v\n%s", c.args, err, b)
			}

			var h hostJSON
			readJSON(t, filepath.Join(out, "host.json"), &h)
			if got := h.CustomHandler.Description.DefaultExecutablePath; got != c.exe {
				t.Errorf("assembled host.json names %q, want %q", got, c.exe)
			}
			want := []string{".funcignore", "host.json", c.exe}
			for _, f := range source {
				want = append(want, f.Name)
				if got, src := readFile(t, out, f.Name, "function.json"), readFile(t, root, "functions", f.Name, "function.json"); got != src {
					t.Errorf("%s/function.json differs from the source", f.Name)
				}
			}
			if readFile(t, out, ".funcignore") != readFile(t, root, ".funcignore") {
				t.Error(".funcignore differs from the source")
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("app folder holds %q, want %q", got, want)
			}
			c.check(t, filepath.Join(out, c.exe))
		})
	}
}

func readFile(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAzureBinary: an executable, static, stripped linux/amd64 ELF.
func checkAzureBinary(t *testing.T, bin string) {
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s is not an executable file: %v", bin, err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("%s is %v %v %v, want ELFCLASS64 EM_X86_64 ET_EXEC", bin, f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked", bin)
		}
	}
	if f.Section(".debug_info") != nil || f.Section(".symtab") != nil {
		t.Errorf("%s is not stripped", bin)
	}
}

// checkWindowsBinary: an amd64 PE that keeps its DWARF for Delve.
func checkWindowsBinary(t *testing.T, bin string) {
	f, err := pe.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("%s machine %#x, want AMD64", bin, f.Machine)
	}
	if _, err := f.DWARF(); err != nil {
		t.Errorf("%s has no debug information for Delve: %v", bin, err)
	}
}
