package tokencache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// msalCache stands for MSAL's in-memory cache: what Replace loads into it
// and what Export marshals from it.
type msalCache struct {
	loads  int
	memory []byte
}

func (m *msalCache) Unmarshal(b []byte) error { m.loads++; m.memory = b; return nil }
func (m *msalCache) Marshal() ([]byte, error) { return m.memory, nil }

// MSAL replaces before every call; the cache decodes the stored tokens once
// per request, and again only after an Export failed to store MSAL's.
func TestReplaceLoadsOnce(t *testing.T) {
	ctx := context.Background()
	_, table := testenv.SharedAzurite(t).NewTable(t)
	store := session.NewStore(table, session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour})
	created, err := store.Create(ctx, []byte("{}"), []byte(`{"stored":1}`))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := store.Load(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(ctx, store, sess)
	if err != nil {
		t.Fatal(err)
	}
	m := &msalCache{}
	for range 3 {
		if err := c.Replace(ctx, m, cache.ReplaceHints{}); err != nil {
			t.Fatal(err)
		}
	}
	if m.loads != 1 || string(m.memory) != `{"stored":1}` {
		t.Fatalf("%d loads of %q, want 1 of the stored cache", m.loads, m.memory)
	}
	// MSAL refreshed a token, but the session was signed out meanwhile:
	// the write fails and the next Replace reloads what is stored.
	m.memory = []byte(`{"refreshed":1}`)
	if err := store.Delete(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := c.Export(ctx, m, cache.ExportHints{}); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Export after sign-out: %v, want ErrNotFound", err)
	}
	if err := c.Replace(ctx, m, cache.ReplaceHints{}); err != nil || m.loads != 2 || string(m.memory) != `{"stored":1}` {
		t.Fatalf("after a failed Export: %d loads, memory %q, err %v", m.loads, m.memory, err)
	}
}

// A cache with nothing stored still replaces MSAL's memory, with "{}":
// another user's tokens must never survive into this request.
func TestReplaceEmpty(t *testing.T) {
	m := &msalCache{memory: []byte(`{"someone else":1}`)}
	if err := ForNewSession().Replace(context.Background(), m, cache.ReplaceHints{}); err != nil || string(m.memory) != "{}" {
		t.Fatalf("memory %q, err %v", m.memory, err)
	}
}
