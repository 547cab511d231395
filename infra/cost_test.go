package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// alwaysReadyBaselineUSD is Flex Consumption's always-ready baseline price
// per GB-second (Azure Functions pricing, Flex Consumption, pay as you go,
// USD): what an always-ready instance costs while it does nothing.
// Execution time and executions are billed on top, and there is no free
// grant for always-ready ("Flex Consumption plan", Billing).
const alwaysReadyBaselineUSD = 0.000004

// TestDocsStateTheIdleCost: docs/deploy.md names the always-ready
// instances prod.bicepparam is billed for while idle, and their monthly
// cost. Flex Consumption scales HTTP functions as one group (http) and
// every other function, the timer that sweeps sessions among them, as a
// group of its own (function:<name>); with zone redundancy the platform
// keeps at least two always-ready instances in every group, whatever the
// template asks for ("Reliability in Azure Functions", Flex Consumption:
// "at least two always-ready instances for each per-function scaling
// function or group ... billed as always-ready instances").
func TestDocsStateTheIdleCost(t *testing.T) {
	root := moduleRoot(t)
	set := infra(t)
	values, ok := set.Assignments("infra/prod.bicepparam")
	if !ok {
		t.Fatal("no infra/prod.bicepparam")
	}
	text := func(name string) string {
		if v := values[name]; v != nil {
			return v.Text
		}
		return ""
	}
	number := func(name string) int {
		n, err := strconv.Atoi(text(name))
		if err != nil {
			t.Fatalf("prod.bicepparam: %s is not a number: %v", name, err)
		}
		return n
	}
	memoryMB, asked := number("instanceMemoryMB"), number("alwaysReadyInstances")
	zoneRedundant := text("zoneRedundant") == "true"

	// The template asks for always-ready instances for the http group only.
	app := readRepoFile(t, "infra", "modules", "functionapp.bicep")
	if !strings.Contains(string(app), "[{ name: 'http', instanceCount: alwaysReadyInstances }]") || strings.Contains(string(app), "'function:") {
		t.Fatal("functionapp.bicep: alwaysReady is no longer the http group alone; recount what the docs say")
	}
	billed := asked
	if zoneRedundant {
		billed = max(2, asked)
		for _, g := range otherScaleGroups(t, root) {
			t.Logf("function:%s: 2 always-ready instances, kept by the platform", g)
			billed += 2
		}
	}
	monthly := float64(billed) * float64(memoryMB) / 1024 * 30 * 24 * 3600 * alwaysReadyBaselineUSD

	doc := readRepoFile(t, "docs", "deploy.md")
	for _, want := range []string{
		fmt.Sprintf("%d always-ready instances", billed),
		fmt.Sprintf("USD %.2f a month", monthly),
		strconv.FormatFloat(alwaysReadyBaselineUSD, 'f', -1, 64),
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/deploy.md does not say %q: prod.bicepparam bills %d always-ready instances of %d MB while idle, USD %.2f a month", want, billed, memoryMB, monthly)
		}
	}
}

// otherScaleGroups are the functions that scale on their own: every one
// whose trigger is not HTTP.
func otherScaleGroups(t *testing.T, root string) []string {
	files, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no functions/*/function.json: %v", err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fn struct {
			Bindings []struct {
				Type      string `json:"type"`
				Direction string `json:"direction"`
			} `json:"bindings"`
		}
		if err := json.Unmarshal(b, &fn); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, b := range fn.Bindings {
			if b.Direction == "in" && b.Type != "httpTrigger" {
				out = append(out, filepath.Base(filepath.Dir(f)))
			}
		}
	}
	return out
}

var memoryAllowedRE = regexp.MustCompile(`@allowed\(\[\s*((?:\d+\s*)+)\]\)\s*param instanceMemoryMB\b`)

// TestDocsStateTheInstanceMemories: the sizes main.bicep allows for
// instanceMemoryMB are the ones docs/deploy.md names, beside the command
// that lists the regions offering Flex Consumption.
func TestDocsStateTheInstanceMemories(t *testing.T) {
	main := readRepoFile(t, "infra", "main.bicep")
	m := memoryAllowedRE.FindSubmatch(main)
	if m == nil {
		t.Fatal("main.bicep: instanceMemoryMB has no @allowed list of sizes")
	}
	doc := readRepoFile(t, "docs", "deploy.md")
	_, bullet, ok := strings.Cut(string(doc), "- **Instance memory**:")
	if !ok {
		t.Fatal(`docs/deploy.md has no "Instance memory" item`)
	}
	bullet, _, _ = strings.Cut(bullet, "\n- ")
	var sizes []string
	for _, size := range strings.Fields(string(m[1])) {
		sizes = append(sizes, size)
		if !strings.Contains(bullet, size) {
			t.Errorf("docs/deploy.md, Instance memory, does not name %s MB, which main.bicep allows", size)
		}
	}
	if !strings.Contains(strings.Join(strings.Fields(bullet), " "), "az functionapp list-flexconsumption-locations") {
		t.Error("docs/deploy.md, Instance memory, does not say how to list the regions")
	}
	t.Logf("allowed sizes: %v", sizes)
}
