package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// FromEnv returns a Service configured from environment variables, the
// same app settings the handler reads (see the README's Configuration), so
// another Go module can put B2C sign-in in front of its own pages:
//
//	svc, err := auth.FromEnv(os.Getenv, slog.Default())
//	go svc.EnsureStorage(ctx)
//	http.ListenAndServe(addr, svc.Sessions(mux))
func FromEnv(getenv func(string) string, logger *slog.Logger) (*Service, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return FromConfig(cfg, logger)
}

// FromConfig returns a Service for a loaded configuration. It does no I/O,
// so a cold start answers at once.
func FromConfig(cfg *config.Config, logger *slog.Logger) (*Service, error) {
	table, err := newTableClient(cfg)
	if err != nil {
		return nil, err
	}
	httpClient, err := b2c.NewHTTPClient(cfg.CAFile, time.Hour)
	if err != nil {
		return nil, err
	}
	b2cClient, err := b2c.New(b2c.Config{
		Tenant:       b2c.Tenant{Name: cfg.TenantName, Host: cfg.TenantHost},
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Policies:     []string{cfg.SignUpSignInPolicy, cfg.ProfileEditPolicy, cfg.PasswordResetPolicy},
		HTTPClient:   httpClient,
	})
	if err != nil {
		return nil, err
	}
	store := session.NewStore(table, session.Options{IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout})
	return newService(b2cClient, store, cfg, logger), nil
}

// newTableClient reaches Table Storage with a connection string (Azurite)
// or, in Azure, an endpoint and a managed identity. Retries are tight: a
// person is waiting on the page.
func newTableClient(cfg *config.Config) (*aztables.Client, error) {
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second, TryTimeout: 5 * time.Second},
	}}
	if cfg.TableConnection != "" {
		svc, err := aztables.NewServiceClientFromConnectionString(cfg.TableConnection, opts)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", config.TableConnection, err)
		}
		return svc.NewClient(cfg.TableName), nil
	}
	var idOpts azidentity.ManagedIdentityCredentialOptions
	if cfg.ManagedIdentityID != "" {
		idOpts.ID = azidentity.ClientID(cfg.ManagedIdentityID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&idOpts)
	if err != nil {
		return nil, fmt.Errorf("auth: managed identity: %w", err)
	}
	svc, err := aztables.NewServiceClient(cfg.TableEndpoint, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", config.TableEndpoint, err)
	}
	return svc.NewClient(cfg.TableName), nil
}

// EnsureStorage creates the sessions table if it is missing, retrying with
// backoff until it succeeds or ctx ends. Run it in the background: the
// Functions host's readiness probe must not wait for storage.
func (s *Service) EnsureStorage(ctx context.Context) {
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		err := s.store.EnsureTable(ctx)
		if err == nil {
			return
		}
		s.log.Warn("creating the sessions table", "err", err, "retryIn", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// Ready reports whether the sign-in dependencies answer: the sessions table
// exists and can be reached, and the sign-up/sign-in user flow's discovery
// document can be had. Unlike a health check it does I/O, so it serves
// start-up scripts and smoke tests, not the host's liveness probe.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return &NotReadyError{Dependency: "session table", Err: err}
	}
	if _, err := s.b2c.Metadata(ctx, s.cfg.SignUpSignInPolicy); err != nil {
		return &NotReadyError{Dependency: "sign-in service", Err: err}
	}
	return nil
}

// NotReadyError names the dependency that Ready found not answering.
type NotReadyError struct {
	Dependency string
	Err        error
}

func (e *NotReadyError) Error() string {
	return "auth: " + e.Dependency + " not ready: " + e.Err.Error()
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// Sweep deletes expired sessions, token caches and pending sign-ins, and
// says how many rows it removed. Run it on a timer.
func (s *Service) Sweep(ctx context.Context) (int, error) { return s.store.Sweep(ctx) }

// Config is the configuration the Service runs with.
func (s *Service) Config() *config.Config { return s.cfg }
