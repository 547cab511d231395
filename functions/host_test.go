package functions_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// hostJSON is the part of host.json the handler depends on.
type hostJSON struct {
	Version       string `json:"version"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string `json:"defaultExecutablePath"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
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
		// Not the newer proxying mode: it replaces the Host header the
		// handler relies on (cmd/handler TestProxyingWouldFoolTheHandler).
		{"customHandler.enableProxyingHttpRequest", h.CustomHandler.EnableProxyingHTTPRequest, false},
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
