package auth_test

// Helpers of the auth tests: a site served with httptest that signs in
// against the B2C emulator and keeps sessions in Azurite. The browser
// stand-in that drives the emulator's sign-in pages is testenv's.

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv/emutest"
)

var alice, bob = emulator.Alice, emulator.Bob

// site is an app built on the auth package: the Service mounted on a mux,
// a page behind RequireSignIn, and a page that asks for an access token.
type site struct {
	URL    string // http://127.0.0.1:PORT
	Emu    *emulator.Server
	Table  *aztables.Client
	Svc    *auth.Service
	Secret string

	mu       sync.Mutex
	failures []error // what Config.ErrorHandler was given
}

type siteOptions struct {
	// config changes the Config before New.
	config func(*auth.Config)
	// routes adds handlers to the mux after Mount.
	routes func(*http.ServeMux, *auth.Service)
	// emulator changes the emulator's Config before it starts.
	emulator func(*emulator.Config)
}

// startSite starts the emulator, a table of the test's own in the shared
// Azurite, and the site. The site's listener comes first: the emulator
// needs the redirect URI, port included, when it starts.
func startSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	s := &site{URL: base, Secret: "secret-" + rand.Text()}

	emuCfg := emutest.Config(s.Secret, base+"/getAToken")
	if o.emulator != nil {
		o.emulator(&emuCfg)
	}
	emu := emutest.Start(t, emuCfg)
	s.Emu = emu
	_, s.Table = testenv.SharedAzurite(t).NewTable(t, auth.TablePolicy())

	logs := &testenv.Log{}
	cfg := auth.Config{
		TenantName:         "contoso",
		TenantHost:         emu.TLSHost(),
		ClientID:           testenv.ClientID,
		ClientSecret:       s.Secret,
		SignUpSignInPolicy: testenv.SignUpSignIn,
		ProfileEditPolicy:  testenv.ProfileEdit,
		RedirectURL:        base + "/getAToken",
		Scopes:             []string{testenv.APIScope},
		Table:              s.Table,
		HTTPClient:         testenv.TrustingClient(t, emu.CACertPEM()),
		Logger:             slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ErrorHandler:       s.recordFailure,
	}
	if o.config != nil {
		o.config(&cfg)
	}
	var err error
	s.Svc, err = auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	s.Svc.Mount(mux)
	mux.Handle("/private", s.Svc.RequireSignIn(http.HandlerFunc(showUser)))
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.Svc.AccessToken(r.Context(), []string{testenv.APIScope})
		switch {
		case errors.Is(err, auth.ErrSignInRequired):
			http.Error(w, "sign-in required", http.StatusUnauthorized)
		case err != nil:
			s.recordFailure(w, r, err)
		default:
			io.WriteString(w, tok)
		}
	})
	if o.routes != nil {
		o.routes(mux, s.Svc)
	}
	srv.Config.Handler = s.Svc.Sessions(mux)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		// Secrets, codes and tokens never reach the log.
		for _, secret := range []string{s.Secret, "code=", "eyJ"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
		if t.Failed() && logs.String() != "" {
			t.Logf("auth log:\n%s", logs.String())
		}
	})
	return s
}

// recordFailure is the site's Config.ErrorHandler: it keeps the error for
// the test and answers with the status of the failure's Kind.
func (s *site) recordFailure(w http.ResponseWriter, r *http.Request, err error) {
	s.mu.Lock()
	s.failures = append(s.failures, err)
	s.mu.Unlock()
	status := http.StatusInternalServerError
	var f *auth.Failure
	if errors.As(err, &f) {
		status = f.Kind.Status()
	}
	http.Error(w, http.StatusText(status), status)
}

// takeFailure returns the one failure reported since the last call.
func (s *site) takeFailure(t *testing.T) *auth.Failure {
	t.Helper()
	s.mu.Lock()
	failures := s.failures
	s.failures = nil
	s.mu.Unlock()
	if len(failures) != 1 {
		t.Fatalf("ErrorHandler called %d times, want once: %v", len(failures), failures)
	}
	var f *auth.Failure
	if !errors.As(failures[0], &f) {
		t.Fatalf("ErrorHandler got %T (%v), want a *auth.Failure", failures[0], failures[0])
	}
	return f
}

// noFailure checks that ErrorHandler was not called since the last take.
func (s *site) noFailure(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) != 0 {
		t.Fatalf("ErrorHandler called: %v", s.failures)
	}
}

// shownUser is what the protected page shows of the signed-in user.
type shownUser struct {
	Name, Email, ObjectID, Subject, Policy string
}

func showUser(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		http.Error(w, "RequireSignIn let a signed-out visitor through", http.StatusTeapot)
		return
	}
	c := u.Claims
	json.NewEncoder(w).Encode(shownUser{Name: c.Name, Email: c.Email(), ObjectID: c.ObjectID, Subject: c.Subject, Policy: c.Policy})
}

// pendingCookie is the cookie of the sign-in r started, if any.
func pendingCookie(r testenv.Response) *http.Cookie {
	for _, c := range r.Cookies {
		if strings.HasPrefix(c.Name, auth.PendingCookiePrefix) && c.MaxAge > 0 {
			return c
		}
	}
	return nil
}

// shown fetches the protected page and decodes the user it shows.
func (s *site) shown(t *testing.T, c *http.Client) shownUser {
	t.Helper()
	r := testenv.Get(t, c, s.URL+"/private")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /private: status %d, want 200 signed in\n%s", r.Status, r.Body)
	}
	var u shownUser
	if err := json.Unmarshal([]byte(r.Body), &u); err != nil {
		t.Fatalf("GET /private: %v\n%s", err, r.Body)
	}
	return u
}
