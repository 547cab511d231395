// Command handler is the app's Azure Functions custom handler: an HTTP
// server that the Functions host forwards each request to.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/handlers"
	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/logging"
	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the handler and serves until ctx ends. Tests call it to start
// the real program.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("config: %s: %w", config.LogLevel, err)
	}
	logger := logging.New(stdout, level)

	table, err := newTableClient(cfg)
	if err != nil {
		return err
	}
	store := session.NewStore(table, session.Options{IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout})
	httpClient, err := b2c.NewHTTPClient(cfg.CAFile, time.Hour)
	if err != nil {
		return err
	}
	b2cClient, err := b2c.New(b2c.Config{
		Tenant:       b2c.Tenant{Name: cfg.TenantName, Host: cfg.TenantHost},
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Policies:     []string{cfg.SignUpSignInPolicy, cfg.ProfileEditPolicy, cfg.PasswordResetPolicy},
		HTTPClient:   httpClient,
	})
	if err != nil {
		return err
	}
	h, err := handlers.NewServer(handlers.Deps{
		Auth:      auth.New(auth.Options{B2C: b2cClient, Store: store, Config: cfg, Logger: logger}),
		Config:    cfg,
		Logger:    logger,
		APIClient: &http.Client{Timeout: 10 * time.Second},
		Sweep:     store.Sweep,
	})
	if err != nil {
		return err
	}

	// The table is created in the background: the host's readiness probe
	// must be answered before any dependency is warm.
	go ensureTable(ctx, store, logger)

	ln, err := net.Listen("tcp", "127.0.0.1:"+cfg.Port)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("listening", "addr", ln.Addr().String(), "redirectURI", cfg.RedirectURI())
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
		return nil, fmt.Errorf("managed identity: %w", err)
	}
	svc, err := aztables.NewServiceClient(cfg.TableEndpoint, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", config.TableEndpoint, err)
	}
	return svc.NewClient(cfg.TableName), nil
}

func ensureTable(ctx context.Context, store *session.Store, logger *slog.Logger) {
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		err := store.EnsureTable(ctx)
		if err == nil {
			return
		}
		logger.Warn("creating the sessions table", "err", err, "retryIn", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}
