package appsettings

import (
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// All holds every variable once: auth's and the handler's own.
func TestAllListed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range All {
		if seen[s.Name] || s.Description == "" {
			t.Errorf("setting %q repeated or undescribed", s.Name)
		}
		seen[s.Name] = true
	}
	if len(All) != len(auth.EnvSettings)+len(config.Settings) {
		t.Fatalf("%d settings, want %d", len(All), len(auth.EnvSettings)+len(config.Settings))
	}
	if !Has(auth.EnvClientID) || !Has(config.Port) || Has("FUNCTIONS_WORKER_RUNTIME") {
		t.Error("Has disagrees with All")
	}
}
