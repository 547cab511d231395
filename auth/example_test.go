package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// config is the Config of ExampleNew, for the examples that follow it.
func config() auth.Config {
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		panic(err)
	}
	tables, err := aztables.NewServiceClient("https://contoso.table.core.windows.net/", cred, &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{auth.TablePolicy()}},
	})
	if err != nil {
		panic(err)
	}
	return auth.Config{
		TenantName:         "contoso",
		ClientID:           "00000000-0000-0000-0000-000000000000",
		ClientSecret:       "the app registration's secret",
		SignUpSignInPolicy: "B2C_1_signupsignin1",
		ProfileEditPolicy:  "B2C_1_profileediting1",
		RedirectURL:        "https://app.example.com/getAToken",
		Table:              tables.NewClient("sessions"),
	}
}

func ExampleNew() {
	// The sessions table, reached with the app's managed identity.
	// TablePolicy makes a page decode its session row once.
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		panic(err)
	}
	tables, err := aztables.NewServiceClient("https://contoso.table.core.windows.net/", cred, &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{auth.TablePolicy()}},
	})
	if err != nil {
		panic(err)
	}

	// New does no I/O: B2C and the table are first reached by a request.
	svc, err := auth.New(auth.Config{
		TenantName:         "contoso",
		ClientID:           "00000000-0000-0000-0000-000000000000",
		ClientSecret:       "the app registration's secret",
		SignUpSignInPolicy: "B2C_1_signupsignin1",
		ProfileEditPolicy:  "B2C_1_profileediting1",
		RedirectURL:        "https://app.example.com/getAToken",
		Table:              tables.NewClient("sessions"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("profile editing:", svc.ProfileEditEnabled())

	// A Config that New refuses names the field to fix.
	_, err = auth.New(auth.Config{
		TenantName:         "contoso",
		ClientID:           "00000000-0000-0000-0000-000000000000",
		ClientSecret:       "the app registration's secret",
		SignUpSignInPolicy: "B2C_1_signupsignin1",
		RedirectURL:        "http://app.example.com/getAToken",
		Table:              tables.NewClient("sessions"),
	})
	var ce *auth.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("fix", ce.Field)
	}
	// Output:
	// profile editing: true
	// fix RedirectURL
}

func ExampleFromEnv() {
	// The app settings; in the app itself, os.Getenv.
	settings := map[string]string{
		"B2C_TENANT_NAME":          "contoso",
		"B2C_SIGNUP_SIGNIN_POLICY": "B2C_1_signupsignin1",
		"B2C_CLIENT_ID":            "00000000-0000-0000-0000-000000000000",
		"PUBLIC_BASE_URL":          "https://app.example.com",
		"SESSION_TABLE_ENDPOINT":   "https://contoso.table.core.windows.net/",
	}
	getenv := func(name string) string { return settings[name] }

	// An error names the setting to fix.
	_, err := auth.FromEnv(getenv, slog.Default())
	fmt.Println(err)

	settings["B2C_CLIENT_SECRET"] = "the app registration's secret"
	svc, err := auth.FromEnv(getenv, slog.Default())
	if err != nil {
		panic(err)
	}
	fmt.Println("profile editing:", svc.ProfileEditEnabled())
	// Output:
	// auth: B2C_CLIENT_SECRET is required (client secret; a Key Vault reference in Azure)
	// profile editing: false
}

func ExampleConfigFromEnv() {
	settings := map[string]string{
		"B2C_TENANT_NAME":          "contoso",
		"B2C_SIGNUP_SIGNIN_POLICY": "B2C_1_signupsignin1",
		"B2C_CLIENT_ID":            "00000000-0000-0000-0000-000000000000",
		"B2C_CLIENT_SECRET":        "the app registration's secret",
		"PUBLIC_BASE_URL":          "https://app.example.com",
		"API_SCOPES":               "https://contoso.onmicrosoft.com/tasks-api/tasks.read",
		"SESSION_TABLE_ENDPOINT":   "https://contoso.table.core.windows.net/",
		"SESSION_IDLE_TIMEOUT":     "30m",
	}
	getenv := func(name string) string { return settings[name] }

	cfg, err := auth.ConfigFromEnv(getenv)
	if err != nil {
		panic(err)
	}
	// Add what app settings do not carry, then call auth.New(cfg).
	cfg.HomePath = "/reports"
	fmt.Println(cfg.RedirectURL)
	fmt.Println(cfg.Scopes)
	fmt.Println(cfg.IdleTimeout)

	settings["PUBLIC_BASE_URL"] = "http://app.example.com"
	_, err = auth.ConfigFromEnv(getenv)
	fmt.Println(err)
	// Output:
	// https://app.example.com/getAToken
	// [https://contoso.onmicrosoft.com/tasks-api/tasks.read]
	// 30m0s
	// auth: PUBLIC_BASE_URL: "http://app.example.com" must be https (http only for localhost)
}

func ExampleService_Mount() {
	svc, err := auth.New(config())
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	svc.Mount(mux)

	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/login?next=/reports", nil),
		httptest.NewRequest(http.MethodGet, "/getAToken?state=s&code=c", nil),
		httptest.NewRequest(http.MethodPost, "/logout", nil),
		httptest.NewRequest(http.MethodGet, "/editProfile", nil),
		httptest.NewRequest(http.MethodGet, "/logout", nil), // sign-out is POST only
	} {
		_, pattern := mux.Handler(r)
		fmt.Printf("%s %s: %q\n", r.Method, r.URL.Path, pattern)
	}
	// Output:
	// GET /login: "GET /login"
	// GET /getAToken: "GET /getAToken"
	// POST /logout: "POST /logout"
	// GET /editProfile: "GET /editProfile"
	// GET /logout: ""
}

func ExampleService_RequireSignIn() {
	svc, err := auth.New(config())
	if err != nil {
		panic(err)
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.UserFrom(r.Context()) // always signed in here
		fmt.Fprintf(w, "Reports for %s", user.Claims.DisplayName())
	})
	mux := http.NewServeMux()
	svc.Mount(mux)
	mux.Handle("/reports", svc.RequireSignIn(reports))
	handler := svc.Sessions(mux)

	// A signed-out visitor goes through sign-in and comes back.
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/reports?month=5", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))

	// A form post cannot be replayed after sign-in: it is refused.
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/reports", nil))
	fmt.Println(w.Code)
	// Output:
	// 302 /login?next=%2Freports%3Fmonth%3D5
	// 401
}

func ExampleUserFrom() {
	svc, err := auth.New(config())
	if err != nil {
		panic(err)
	}
	home := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, ok := auth.UserFrom(r.Context()); ok {
			fmt.Fprintf(w, "Hello, %s", user.Claims.DisplayName())
			return
		}
		fmt.Fprint(w, "Hello, visitor")
	})
	handler := svc.Sessions(home)

	// A session cookie that names no session is cleared, and the visitor
	// is served signed out.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: "made-up"})
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Body)
	fmt.Println(w.Header().Get("Set-Cookie"))
	// Output:
	// Hello, visitor
	// __Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax
}

func ExampleClaims() {
	// In a handler, the claims are auth.UserFrom(r.Context()).Claims.
	// These are what a user flow that sends no name might give.
	var claims auth.Claims
	claims.ObjectID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	claims.Emails = []string{"alice@example.com"}
	claims.Raw = json.RawMessage(`{"oid":"3fa85f64-5717-4562-b3fc-2c963f66afa6","emails":["alice@example.com"],"extension_Team":"Finance"}`)

	fmt.Println(claims.DisplayName())
	fmt.Println(claims.UserID())

	// An extension attribute, from the token's JSON.
	var custom struct {
		Team string `json:"extension_Team"`
	}
	if err := json.Unmarshal(claims.Raw, &custom); err != nil {
		panic(err)
	}
	fmt.Println(custom.Team)
	// Output:
	// alice@example.com
	// 3fa85f64-5717-4562-b3fc-2c963f66afa6
	// Finance
}

func ExampleFailure() {
	cfg := config()
	// The app words every failure; the Kind says what went wrong.
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		var f *auth.Failure
		if !errors.As(err, &f) {
			http.Error(w, "Something went wrong", http.StatusInternalServerError)
			return
		}
		switch f.Kind {
		case auth.BindingMissing:
			http.Error(w, "Allow cookies for this site, then sign in again", f.Kind.Status())
		case auth.BindingMismatch:
			http.Error(w, "This sign-in was started in another browser", f.Kind.Status())
		case auth.StorageUnavailable, auth.ProviderUnreachable:
			http.Error(w, "Please try again in a moment", f.Kind.Status())
		default:
			http.Error(w, "Sign-in failed: "+f.Kind.String(), f.Kind.Status())
		}
	}
	svc, err := auth.New(cfg)
	if err != nil {
		panic(err)
	}
	callback := svc.CallbackHandler()

	// Callbacks that no sign-in of this browser started.
	noState := httptest.NewRequest(http.MethodGet, "/getAToken?code=c", nil)
	noCookie := httptest.NewRequest(http.MethodGet, "/getAToken?state=s&code=c", nil)
	otherSignIn := httptest.NewRequest(http.MethodGet, "/getAToken?state=s&code=c", nil)
	otherSignIn.AddCookie(&http.Cookie{Name: auth.PendingCookiePrefix + "another", Value: "v"})
	for _, r := range []*http.Request{noState, noCookie, otherSignIn} {
		w := httptest.NewRecorder()
		callback.ServeHTTP(w, r)
		fmt.Printf("%d %s", w.Code, w.Body)
	}
	// Output:
	// 400 Sign-in failed: bad sign-in response
	// 400 Allow cookies for this site, then sign in again
	// 400 This sign-in was started in another browser
}
