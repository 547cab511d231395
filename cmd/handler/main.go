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
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/handlers"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
	"github.com/b2c-functions-go/b2c-functions-go/internal/logging"
)

// app is the handler's wiring, made from the settings.
type app struct {
	cfg     *config.Config
	authCfg auth.Config
	logger  *slog.Logger
	svc     *auth.Service
	handler http.Handler
}

func newApp(getenv func(string) string, stdout io.Writer) (*app, error) {
	cfg, err := config.Load(getenv, auth.EnvAPIScopes)
	if err != nil {
		return nil, err
	}
	authCfg, err := auth.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	logger := logging.New(stdout, cfg.LogLevel)
	redirect, _ := url.Parse(authCfg.RedirectURL) // validated
	web, err := handlers.New(handlers.Deps{
		Logger:      logger,
		APIClient:   &http.Client{Timeout: 10 * time.Second},
		APIEndpoint: cfg.APIEndpoint,
		APIScopes:   cfg.APIScopes,
		Localhost:   auth.IsLoopback(redirect.Hostname()),
		HTTPS:       redirect.Scheme == "https",

		RequestTimeout: cfg.RequestTimeout,
	})
	if err != nil {
		return nil, err
	}
	authCfg.Logger, authCfg.ErrorHandler = logger, web.RenderError
	svc, err := auth.New(authCfg)
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, authCfg: authCfg, logger: logger, svc: svc, handler: web.Handler(svc)}, nil
}

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
	a, err := newApp(getenv, stdout)
	if err != nil {
		return err
	}
	// The table is created in the background: the host's readiness probe
	// must be answered before any dependency is warm.
	go a.svc.EnsureStorage(ctx)

	ln, err := net.Listen("tcp", "127.0.0.1:"+a.cfg.Port)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	a.logger.Info("listening", "addr", ln.Addr().String(), "redirectURI", a.authCfg.RedirectURL)
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
