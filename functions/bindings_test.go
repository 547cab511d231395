package functions_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

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

// scheduleSetting is the setting the timer's schedule comes from.
const scheduleSetting = "SWEEP_SCHEDULE"

var settingRef = regexp.MustCompile(`%([A-Za-z0-9_.:-]+)%`)

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
