package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// A Table Storage that accepts connections and never answers holds a
// request only until its deadline: the visitor gets the storage page, not
// a request hanging for as long as the SDK's retries (or the client) wait.
func TestRequestDeadlineBoundsAHungDependency(t *testing.T) {
	proxy, table := testenv.SharedAzurite(t).NewProxiedTable(t, policy.RetryOptions{MaxRetries: 3, TryTimeout: time.Minute})
	app := newApp(t, appOptions{table: table, requestTimeout: 300 * time.Millisecond})
	proxy.SetMode(testenv.Hang, 0)
	t.Cleanup(func() { proxy.SetMode(testenv.Pass, 0) })
	c := testenv.NewBrowser(t)
	c.Timeout = 20 * time.Second // far past the deadline, far short of the SDK's retries
	req := newRequest(t, "GET", app.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: session.NewState()})
	r := testenv.Send(t, c, req)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "Sessions cannot be reached") {
		t.Fatalf("GET / with Table Storage hung: %d, want 503 and the sessions page\n%.300s", r.Status, r.Body)
	}
}
