package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
)

// externalIDOptions are the flags -external-id uses.
type externalIDOptions struct {
	tenant, tlsAddr, browserAddr, apiAddr, caOut string
	clientID, clientSecret                       string
	redirectURIs                                 []string // the post-logout URI among them
	atLifetime                                   time.Duration
}

// runExternalID runs an External ID tenant: one user flow, the app, the two
// test users and an API whose App ID URI is api://{its client ID}, and prints
// the handler's settings for its external-id provider.
func runExternalID(ctx context.Context, o externalIDOptions, stdout io.Writer) error {
	// The identity platform follows post_logout_redirect_uri only when it is
	// a redirect URI of the app, so the handler's default one, the origin of
	// the redirect URI, is registered too.
	redirects := o.redirectURIs
	apiURI := "api://" + apiClientID
	srv, err := emulator.Start(emulator.Config{
		Tenant:              o.tenant,
		TenantID:            tenantID,
		ExternalID:          true,
		Clients:             []emulator.Client{{ID: o.clientID, Secret: o.clientSecret, RedirectURIs: redirects}},
		Users:               sampleUsers(),
		APIs:                []emulator.API{{AppIDURI: apiURI, ClientID: apiClientID, Scopes: []string{"tasks.read"}}},
		AccessTokenLifetime: o.atLifetime,
		TLSAddr:             o.tlsAddr,
		BrowserAddr:         o.browserAddr,
		APIAddr:             o.apiAddr,
		Logger:              slog.New(slog.NewTextHandler(stdout, nil)),
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	caFile, err := filepath.Abs(o.caOut)
	if err != nil {
		return fmt.Errorf("b2c-emulator: %w", err)
	}
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("b2c-emulator: write CA certificate: %w", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Entra External ID emulator for %s.onmicrosoft.com (tenant ID %s)\n", o.tenant, tenantID)
	fmt.Fprintf(&b, "  authority  %s\n  authority  %s\n", srv.ExternalIDAuthority(false), srv.ExternalIDAuthority(true))
	fmt.Fprintf(&b, "  issuer     %s\n  sign-in    %s\n  API        %s\n", srv.ExternalIDIssuer(), srv.BrowserURL(), srv.APIURL())
	fmt.Fprintf(&b, "  redirects  %s\n", strings.Join(redirects, " "))
	fmt.Fprintf(&b, "  test users alice@example.com, bob@example.com (password %s)\n\n", testPassword)
	fmt.Fprintf(&b, "Handler settings:\n")
	for _, kv := range [][2]string{
		{"IDENTITY_PROVIDER", "external-id"},
		{"B2C_TENANT_NAME", o.tenant},
		{"B2C_TENANT_ID", tenantID},
		{"B2C_TENANT_HOST", srv.TLSHost()},
		{"B2C_CA_FILE", caFile},
		{"B2C_CLIENT_ID", o.clientID},
		{"B2C_CLIENT_SECRET", o.clientSecret},
		{"API_ENDPOINT", srv.APIURL()},
		{"API_SCOPES", apiURI + "/tasks.read"},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return fmt.Errorf("b2c-emulator: %w", err)
	}

	<-ctx.Done()
	return srv.Close()
}
