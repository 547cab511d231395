package functions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/handlers"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

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
