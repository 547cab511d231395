package testenv

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// ClosedAddr is a loopback address that refuses connections for the rest of
// the test: a port bound but never listened on, so no other process can
// take it meanwhile (a port listened on and closed again could be).
func ClosedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// UnreachableTable is a client of a "sessions" table in Azurite's account
// on ClosedAddr, without retries: every call fails at once, as when Table
// Storage is down.
func UnreachableTable(t testing.TB) *aztables.Client {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="+
		AzuriteAccountKey+";TableEndpoint=http://"+ClosedAddr(t)+"/devstoreaccount1;",
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return svc.NewClient("sessions")
}
