// Package tokencache keeps MSAL Go's token cache in the signed-in user's
// session, one serialized cache per session.
package tokencache

import (
	"bytes"
	"context"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
)

// Cache is a cache.ExportReplace over one session's token cache. It ignores
// MSAL's partition hints: the session is the partition.
type Cache struct {
	store *session.Store
	sess  *session.Session // nil until the session exists
	data  []byte
	// loaded: MSAL's in-memory cache holds data, so a Replace has nothing
	// to do. MSAL replaces before each call (Account, then
	// AcquireTokenSilent) and decoding the cache is most of a call's work.
	loaded bool
}

// New returns the cache of an existing session, reading it from the store.
func New(ctx context.Context, store *session.Store, sess *session.Session) (*Cache, error) {
	data, err := store.TokenCache(ctx, sess)
	if err != nil {
		return nil, err
	}
	return &Cache{store: store, sess: sess, data: data}, nil
}

// ForNewSession returns a cache that keeps what MSAL exports in memory, for
// a sign-in whose session is created afterwards with Bytes.
func ForNewSession() *Cache { return &Cache{} }

// Bytes is the serialized cache as MSAL last exported it.
func (c *Cache) Bytes() []byte { return c.data }

// Replace implements cache.ExportReplace.
func (c *Cache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if c.loaded {
		return nil
	}
	data := c.data
	if len(data) == 0 {
		// Unmarshal replaces MSAL's whole in-memory cache; an empty store
		// must still replace it, or another user's tokens would survive.
		data = []byte("{}")
	}
	if err := u.Unmarshal(data); err != nil {
		return err
	}
	c.loaded = true
	return nil
}

// Export implements cache.ExportReplace. It writes only when MSAL changed
// the cache, guarded by the ETag it was read with; a lost race returns
// session.ErrStale.
func (c *Cache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if bytes.Equal(b, c.data) {
		return nil
	}
	if c.sess != nil {
		if err := c.store.SaveTokenCache(ctx, c.sess, b); err != nil {
			// MSAL's memory now differs from what is stored: the next
			// Replace loads the stored cache again.
			c.loaded = false
			return err
		}
	}
	c.data = b
	return nil
}
