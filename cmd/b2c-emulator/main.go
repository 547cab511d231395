// Command b2c-emulator runs a local Azure AD B2C tenant, and a web API it
// protects, for developing the app without Azure.
//
// It prints the settings the handler needs. The CA certificate is generated
// at every start: restart the handler after restarting the emulator.
//
// The defaults of -tenant, -client-id and -client-secret come from
// B2C_TENANT_NAME, B2C_CLIENT_ID and B2C_CLIENT_SECRET when set, so the
// emulator agrees with the handler's settings.
//
// -strict-logout, -custom-domain and -issuer-form turn on the tenant settings
// of the same names (see the emulator package): B2C's rule for logout
// redirects with id_token_hint, a custom domain served on a TLS listener of
// its own, and the issuer form with the policy in it.
//
// -external-id runs a Microsoft Entra External ID tenant instead (the
// emulator's Config.ExternalID) and prints the settings of the handler's
// external-id provider; the three B2C settings above do not apply to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/b2c-functions-go/b2c-functions-go/internal/emulator"
)

const (
	defaultClientID     = "00000000-0000-0000-0000-00000000c11e"
	defaultClientSecret = "local-dev-secret"
	tenantID            = "00000000-0000-0000-0000-000000000b2c"
	apiClientID         = "00000000-0000-0000-0000-0000000000a1"
	testPassword        = "Passw0rd!"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	orEnv := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		tenant       = fs.String("tenant", orEnv("B2C_TENANT_NAME", "contoso"), "tenant name: serves `name`.onmicrosoft.com")
		tlsAddr      = fs.String("tls-addr", "127.0.0.1:9443", "listen address of the https endpoints MSAL calls, advertised as localhost:PORT")
		browserAddr  = fs.String("browser-addr", "127.0.0.1:9080", "listen address of the sign-in pages, advertised as http://localhost:PORT")
		apiAddr      = fs.String("api-addr", "127.0.0.1:9090", "listen address of the protected API")
		caOut        = fs.String("ca-out", "b2c-emulator-ca.pem", "file to write the CA certificate to")
		clientID     = fs.String("client-id", orEnv("B2C_CLIENT_ID", defaultClientID), "client ID of the app")
		clientSecret = fs.String("client-secret", orEnv("B2C_CLIENT_SECRET", defaultClientSecret), "client secret of the app")
		atLifetime   = fs.Duration("access-token-lifetime", 0, "access token lifetime (default 1h); MSAL refreshes tokens expiring within 5m")
		strictLogout = fs.Bool("strict-logout", false, "with an id_token_hint, follow post_logout_redirect_uri only when it is a redirect URI registered for the hint's app, and refuse an expired hint (B2C's \"Require ID Token in logout requests\")")
		customDomain = fs.String("custom-domain", "", "also serve every endpoint on https at this `host` name or IP address, e.g. 127.0.0.1, with a certificate of its own; discovery and issuers through it name it")
		customAddr   = fs.String("custom-domain-addr", "", "listen address of the -custom-domain listener (default the address itself when it is an IP, else 127.0.0.1, on port 9444)")
		issuerForm   = fs.String("issuer-form", "tenant-id", "issuer (iss) claim: tenant-id for https://host/{tenant ID}/v2.0/, or tfp for https://host/tfp/{tenant ID}/{policy}/v2.0/")
		externalID   = fs.Bool("external-id", false, "run a Microsoft Entra External ID tenant instead of a B2C one: authorities https://localhost:PORT/{tenant ID} and /{tenant}.onmicrosoft.com, issuer https://127.0.0.1:PORT/{tenant ID}/v2.0, one user flow, AADSTS errors")
	)
	// The post-logout URI is registered too, as the set-up steps of docs/deploy.md
	// say: B2C follows it after a sign-out with id_token_hint only then.
	redirectURIs := []string{"http://localhost:7071/getAToken", "http://localhost:7071/"}
	given := false
	fs.Func("redirect-uri", "a redirect URI of the app; repeat it for each, the post-logout URI among them (default http://localhost:7071/getAToken and http://localhost:7071/)", func(v string) error {
		if !given {
			redirectURIs, given = nil, true
		}
		redirectURIs = append(redirectURIs, v)
		return nil
	})
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *externalID {
		var b2cOnly []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "strict-logout", "custom-domain", "custom-domain-addr", "issuer-form":
				b2cOnly = append(b2cOnly, "-"+f.Name)
			}
		})
		if len(b2cOnly) > 0 {
			return fmt.Errorf("b2c-emulator: %s apply to B2C tenants, not with -external-id", strings.Join(b2cOnly, ", "))
		}
		return runExternalID(ctx, externalIDOptions{
			tenant: *tenant, tlsAddr: *tlsAddr, browserAddr: *browserAddr, apiAddr: *apiAddr, caOut: *caOut,
			clientID: *clientID, clientSecret: *clientSecret, redirectURIs: redirectURIs, atLifetime: *atLifetime,
		}, stdout)
	}
	var form emulator.IssuerForm
	switch *issuerForm {
	case "tenant-id":
		form = emulator.IssuerTenantID
	case "tfp":
		form = emulator.IssuerTFP
	default:
		return fmt.Errorf("b2c-emulator: -issuer-form %q is neither tenant-id nor tfp", *issuerForm)
	}
	if *customDomain != "" && *customAddr == "" {
		*customAddr = "127.0.0.1:9444"
		if net.ParseIP(*customDomain) != nil {
			*customAddr = net.JoinHostPort(*customDomain, "9444")
		}
	}

	apiURI := "https://" + *tenant + ".onmicrosoft.com/tasks-api"
	policies := []emulator.Policy{
		{Name: "B2C_1_signupsignin1", Kind: emulator.SignUpSignIn},
		{Name: "B2C_1_profileediting1", Kind: emulator.ProfileEdit},
		{Name: "B2C_1_passwordreset1", Kind: emulator.PasswordReset},
		{Name: "B2C_1_susi_embedded_reset", Kind: emulator.SignUpSignInWithReset},
	}
	srv, err := emulator.Start(emulator.Config{
		Tenant:              *tenant,
		TenantID:            tenantID,
		Policies:            policies,
		Clients:             []emulator.Client{{ID: *clientID, Secret: *clientSecret, RedirectURIs: redirectURIs}},
		Users:               sampleUsers(),
		APIs:                []emulator.API{{AppIDURI: apiURI, ClientID: apiClientID, Scopes: []string{"tasks.read"}}},
		AccessTokenLifetime: *atLifetime,
		StrictLogout:        *strictLogout,
		CustomDomain:        *customDomain,
		CustomDomainAddr:    *customAddr,
		TLSAddr:             *tlsAddr,
		BrowserAddr:         *browserAddr,
		APIAddr:             *apiAddr,
		Logger:              slog.New(slog.NewTextHandler(stdout, nil)),
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.SetIssuerForm(form)

	caFile, err := filepath.Abs(*caOut)
	if err != nil {
		return fmt.Errorf("b2c-emulator: %w", err)
	}
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("b2c-emulator: write CA certificate: %w", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "B2C emulator for %s.onmicrosoft.com (tenant ID %s)\n", *tenant, tenantID)
	for _, p := range policies {
		fmt.Fprintf(&b, "  authority  %s\n", srv.Authority(p.Name))
	}
	if host := srv.CustomDomainHost(); host != "" {
		for _, p := range policies {
			fmt.Fprintf(&b, "  custom     %s\n", srv.AuthorityByTenantID(host, p.Name))
		}
	}
	fmt.Fprintf(&b, "  issuer     %s\n  sign-in    %s\n  API        %s\n", srv.PolicyIssuer(srv.TLSHost(), policies[0].Name), srv.BrowserURL(), srv.APIURL())
	fmt.Fprintf(&b, "  test users alice@example.com, bob@example.com (password %s)\n\n", testPassword)
	fmt.Fprintf(&b, "Handler settings:\n")
	for _, kv := range [][2]string{
		{"B2C_TENANT_NAME", *tenant},
		{"B2C_TENANT_HOST", srv.TLSHost()},
		{"B2C_CA_FILE", caFile},
		{"B2C_CLIENT_ID", *clientID},
		{"B2C_CLIENT_SECRET", *clientSecret},
		{"API_ENDPOINT", srv.APIURL()},
		{"API_SCOPES", apiURI + "/tasks.read"},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if host := srv.CustomDomainHost(); host != "" {
		fmt.Fprintf(&b, "\nTo sign in through the custom domain, set instead:\n  B2C_TENANT_HOST %s\n  B2C_TENANT_ID   %s\n", host, tenantID)
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return fmt.Errorf("b2c-emulator: %w", err)
	}

	<-ctx.Done()
	return srv.Close()
}

// sampleUsers are the emulator package's Alice and Bob, with the password
// the banner prints, for its sign-in form.
func sampleUsers() []emulator.User {
	users := []emulator.User{emulator.Alice, emulator.Bob}
	for i := range users {
		users[i].Password = testPassword
	}
	return users
}
