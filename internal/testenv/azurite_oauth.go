package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// OAuthAzurite is an Azurite Table service that, like Table Storage in
// Azure, serves HTTPS and takes Microsoft Entra bearer tokens: started with
// --oauth basic, --cert and --key (Azurite's README, "OAuth Configuration";
// bearer tokens are refused over plain HTTP).
//
// In basic mode Azurite decodes the token and checks that nbf, exp and iat
// are present and now is within nbf..exp, that iss starts with
// https://sts.windows.net/ (or another cloud's STS), and that aud is
// https://storage.azure.com or an account's table endpoint; it checks
// neither the signature nor role assignments
// (dist/src/table/authentication/TableTokenAuthenticator.js). Shared key
// still works alongside, for a test's own reads.
type OAuthAzurite struct {
	az       *Azurite
	caFile   string
	caPEM    []byte
	debugLog string
}

// NewOAuthAzurite starts an in-memory OAuthAzurite of the test's own, with
// a certificate for 127.0.0.1 and localhost from a CA made for this test.
func NewOAuthAzurite(t testing.TB) *OAuthAzurite {
	t.Helper()
	dir := t.TempDir()
	caPEM, certPEM, keyPEM, err := newServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	a := &OAuthAzurite{caFile: filepath.Join(dir, "ca.pem"), caPEM: caPEM, debugLog: filepath.Join(dir, "debug.log")}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, data := range map[string][]byte{a.caFile: caPEM, certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := azuriteBin()
	if err != nil {
		t.Fatal(err)
	}
	a.az = &Azurite{bin: bin, args: []string{
		"--oauth", "basic", "--cert", certFile, "--key", keyFile,
		// The debug log is the only place Azurite says which
		// authenticator accepted or refused a request.
		"--debug", a.debugLog,
	}}
	if err := a.az.startOnFreePort(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.az.Stop)
	return a
}

// Endpoint is what SESSION_TABLE_ENDPOINT takes. The address is an IP, so
// Azurite reads the account from the path.
func (a *OAuthAzurite) Endpoint() string {
	return "https://" + a.az.addr() + "/devstoreaccount1"
}

// CAFile is a PEM file holding the CA that signed Azurite's certificate.
func (a *OAuthAzurite) CAFile() string { return a.caFile }

// DebugLog is Azurite's debug log so far.
func (a *OAuthAzurite) DebugLog(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(a.debugLog)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Table returns a client for table name that signs with the account key
// and trusts the test's CA: the test's own view of the data, independent
// of the bearer tokens under test.
func (a *OAuthAzurite) Table(t testing.TB, name string) *aztables.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.caPEM)
	cred, err := aztables.NewSharedKeyCredential("devstoreaccount1", AzuriteAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := aztables.NewServiceClientWithSharedKey(a.Endpoint(), cred, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return svc.NewClient(name)
}

// WaitForTable waits until table exists, for when the code under test
// creates it.
func (a *OAuthAzurite) WaitForTable(t testing.TB, table *aztables.Client) {
	t.Helper()
	top := int32(1)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Top: &top}).NextPage(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("testenv: no table at %s within 10s: %v", a.Endpoint(), err)
}

// newServerCertificate makes a CA and, signed by it, a certificate for
// localhost and the loopback addresses, all PEM. Node reads the key as
// PKCS #8.
func newServerCertificate() (caPEM, certPEM, keyPEM []byte, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testenv Azurite CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("testenv: CA certificate: %w", err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("testenv: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	enc := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	return enc("CERTIFICATE", caDER), enc("CERTIFICATE", leafDER), enc("PRIVATE KEY", keyDER), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
