package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// The operator's mistakes are not the visitor's: each one B2C reports is
// answered with "This site is misconfigured" (not "sign in again", not
// "unreachable") and logged at error level with B2C's code and the setting
// to fix, in fields an alert can count.
func TestMisconfigurationIsTheOperators(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		signIn      bool // the mistake shows at the callback, not at /login
		wantCode    string
		wantSetting string
	}{
		{name: "wrong client secret", env: map[string]string{"B2C_CLIENT_SECRET": "not-the-secret"}, signIn: true,
			wantCode: "AADB2C90081", wantSetting: "B2C_CLIENT_SECRET"},
		{name: "unknown user flow", env: map[string]string{"B2C_SIGNUP_SIGNIN_POLICY": "B2C_1_nosuchflow"},
			wantSetting: "B2C_SIGNUP_SIGNIN_POLICY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startApp(t, appOptions{env: tt.env})
			c := testenv.NewBrowser(t)
			var r testenv.Response
			if tt.signIn {
				action, tx := testenv.StartSignIn(t, c, app.URL+"/login")
				r = testenv.Do(t, c, "GET", testenv.EmulatorAnswer(t, c, action, tx, url.Values{"action": {"user"}, "user": {alice.ObjectID}}), nil)
			} else {
				r = testenv.Do(t, c, "GET", app.URL+"/login", nil)
			}
			if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, `id="error-title">This site is misconfigured<`) || strings.Contains(r.Body, `id="sign-in-again"`) {
				t.Fatalf("status %d, want 500 misconfigured without a sign-in link:\n%s", r.Status, r.Body)
			}
			line := logLine(t, app, "request failed")
			if line["level"] != "ERROR" || line["kind"] != "misconfigured" || line["setting"] != tt.wantSetting || (tt.wantCode != "" && line["code"] != tt.wantCode) {
				t.Fatalf("log line %v, want ERROR misconfigured setting %s code %q", line, tt.wantSetting, tt.wantCode)
			}
			if n := testenv.Rows(t, app.Table)["session"]; n != 0 {
				t.Fatalf("%d sessions", n)
			}
		})
	}
}

// logLine is the handler's last log line with msg.
func logLine(t *testing.T, app *testApp, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, l := range strings.Split(app.Log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no %q line in the log:\n%s", msg, app.Log.String())
	}
	return found
}
