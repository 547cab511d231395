// Package appsettings lists every environment variable the handler reads:
// the sign-in settings of the auth package, then the handler's own
// (internal/config). It is the one list that local.settings.sample.json and
// the Bicep consistency test agree with.
package appsettings

import (
	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// All is every variable the handler reads, each once.
var All = func() []config.Setting {
	var all []config.Setting
	for _, s := range auth.EnvSettings {
		all = append(all, config.Setting{Name: s.Name, Description: s.Description, Required: s.Required, LocalOnly: s.LocalOnly})
	}
	return append(all, config.Settings...)
}()

// Has reports whether the handler reads the variable named name.
func Has(name string) bool {
	for _, s := range All {
		if s.Name == name {
			return true
		}
	}
	return false
}
