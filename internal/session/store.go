// Package session keeps sign-in sessions, their token caches and pending
// sign-ins in one Azure Table Storage table.
//
// Each session is one partition holding two rows, "session" and
// "tokencache", so one partition query reads both and one transaction writes
// both. The partition key and the AES-GCM key of a session are derived from
// the cookie value, which the table never stores. Expiry and last-seen stay in
// plaintext so the sweeper can read them without keys.
package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Row keys inside a session's or a pending sign-in's partition.
const (
	rowSession    = "session"
	rowTokenCache = "tokencache"
	rowPending    = "pending" // the purpose a pending sign-in's keys are derived for
	rowUsed       = "used"    // the mark of a state whose callback came
)

// sessionProps are the properties of a session row that Load reads; the
// row's Expires is for the sweep, and Timestamp is the service's own.
const sessionProps = "Created,LastSeen,Data"

// Options tune a Store.
type Options struct {
	IdleTimeout     time.Duration // a session unused this long ends
	AbsoluteTimeout time.Duration // a session ends this long after creation
	// PendingKey is a server secret that pending sign-in cookies are keyed
	// with besides their state, so that only the app can make one. Without
	// it, SealPending and OpenPending fail.
	PendingKey []byte
	Now        func() time.Time
}

// Store reads and writes sessions in one table.
type Store struct {
	table    *aztables.Client
	idle     time.Duration
	absolute time.Duration
	pending  []byte // Options.PendingKey
	now      func() time.Time
}

// NewStore returns a Store over table.
func NewStore(table *aztables.Client, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{table: table, idle: opts.IdleTimeout, absolute: opts.AbsoluteTimeout, pending: bytes.Clone(opts.PendingKey), now: opts.Now}
}

// EnsureTable creates the table if it does not exist yet.
func (s *Store) EnsureTable(ctx context.Context) error {
	_, err := s.table.CreateTable(ctx, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.ErrorCode == string(aztables.TableAlreadyExists) {
		return nil
	}
	return classify("create table", err)
}

// Ping checks that the table can be reached and exists: one point read of a
// row that never exists.
func (s *Store) Ping(ctx context.Context) error {
	_, _, err := s.read(ctx, "ping", "ping", "")
	if err = classify("ping", err); errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// retryWithTable runs write again after creating the table when the table
// is missing: on a first start, before the background creation is done, or
// after someone deleted it. Only the writes that start a sign-in need it.
func (s *Store) retryWithTable(ctx context.Context, write func() error) error {
	err := write()
	if tableNotFound(err) {
		if err = s.EnsureTable(ctx); err == nil {
			err = write()
		}
	}
	return err
}

// A Session is a loaded session.
type Session struct {
	// ID is the cookie value. It is a credential: never log it.
	ID       string
	Created  time.Time
	LastSeen time.Time
	// Data is the caller's payload, stored encrypted.
	Data []byte

	keys rowKeys
	etag azcore.ETag
	// The token cache, still sealed, once TokenCache has read it.
	cacheRead bool
	cache     []byte
	cacheETag azcore.ETag
}

// Create stores a new session with its first token cache (which may be
// empty) in one transaction, and returns it with a fresh ID.
func (s *Store) Create(ctx context.Context, data, tokenCache []byte) (*Session, error) {
	now := s.now().UTC().Truncate(time.Second)
	id := newSecret()
	sess := &Session{ID: id.String(), Created: now, LastSeen: now, Data: data, keys: id.derive(rowSession)}
	sessionRow, err := marshalEntity(sess.keys.partition, rowSession, map[string]any{
		"Created":  aztables.EDMDateTime(now),
		"LastSeen": aztables.EDMDateTime(now),
		"Expires":  aztables.EDMDateTime(s.expires(sess)),
		"Data":     aztables.EDMBinary(sess.keys.seal(sess.sealedWith(), data)),
	})
	if err != nil {
		return nil, err
	}
	actions := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: sessionRow}}
	if len(tokenCache) > 0 {
		cacheRow, _, err := s.tokenCacheEntity(sess, tokenCache)
		if err != nil {
			return nil, err
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: cacheRow})
	}
	err = s.retryWithTable(ctx, func() error {
		_, err := s.table.SubmitTransaction(ctx, actions, nil)
		return err
	})
	if err != nil {
		return nil, classify("create session", err)
	}
	return sess, nil
}

// expires is when the sweeper may delete the session row: the earlier of
// the idle and the absolute deadline.
func (s *Store) expires(sess *Session) time.Time {
	idle, absolute := sess.LastSeen.Add(s.idle), sess.Created.Add(s.absolute)
	if idle.Before(absolute) {
		return idle
	}
	return absolute
}

// touchEvery bounds how stale LastSeen may be: writing it on every page view
// would double the cost of a read.
func (s *Store) touchEvery() time.Duration { return min(5*time.Minute, s.idle/4) }

// Load reads a session: one point read of its session row. The token cache
// is read only when asked for (TokenCache). A malformed, unknown, expired or
// undecryptable ID gives ErrNotFound.
func (s *Store) Load(ctx context.Context, id string) (*Session, error) {
	secret, err := parseSecret(id)
	if err != nil {
		return nil, ErrNotFound
	}
	sess := &Session{ID: id, keys: secret.derive(rowSession)}
	body, etag, err := s.read(ctx, sess.keys.partition, rowSession, sessionProps)
	if err != nil {
		return nil, classify("load session", err)
	}
	// One decode, into just the properties a page needs (sessionProps).
	var row struct {
		Created, LastSeen time.Time
		Data              []byte
	}
	if err := json.Unmarshal(body, &row); err != nil {
		return nil, fmt.Errorf("session: load session: decoding row: %w", err)
	}
	sess.etag, sess.Created, sess.LastSeen = etag, row.Created, row.LastSeen
	if sess.Data, err = sess.keys.open(sess.sealedWith(), row.Data); err != nil {
		return nil, ErrNotFound // undecryptable, or its times were altered
	}
	now := s.now()
	if !now.Before(s.expires(sess)) {
		// Ended: remove it now rather than waiting for the sweeper.
		_ = s.Delete(ctx, sess)
		return nil, ErrNotFound
	}
	if now.Sub(sess.LastSeen) >= s.touchEvery() {
		s.touch(ctx, sess, now)
	}
	return sess, nil
}

// sealedWith is what a session row's data is sealed with besides its
// partition: its creation and last-seen times, which the table keeps in
// plaintext for the sweep. Someone who can write the table can therefore
// not extend a session by moving its times; changing them makes the row
// fail to open.
func (sess *Session) sealedWith() string {
	return fmt.Sprintf("%s|%d|%d", rowSession, sess.Created.Unix(), sess.LastSeen.Unix())
}

// touch records activity, sealing the data anew with the new time. Losing
// a race with another request is harmless: that request recorded activity
// too.
func (s *Store) touch(ctx context.Context, sess *Session, now time.Time) {
	was := sess.LastSeen
	sess.LastSeen = now.UTC().Truncate(time.Second)
	row, err := marshalEntity(sess.keys.partition, rowSession, map[string]any{
		"LastSeen": aztables.EDMDateTime(sess.LastSeen),
		"Expires":  aztables.EDMDateTime(s.expires(sess)),
		"Data":     aztables.EDMBinary(sess.keys.seal(sess.sealedWith(), sess.Data)),
	})
	if err == nil {
		var resp aztables.UpdateEntityResponse
		if resp, err = s.table.UpdateEntity(ctx, row, &aztables.UpdateEntityOptions{IfMatch: &sess.etag, UpdateMode: aztables.UpdateModeMerge}); err == nil {
			sess.etag = resp.ETag
			return
		}
	}
	// Not stored: the row is still sealed with the time it had.
	sess.LastSeen = was
}

// Update replaces a session's data, for example its claims after a profile
// edit. It fails with ErrStale if the session changed since it was loaded.
func (s *Store) Update(ctx context.Context, sess *Session, data []byte) error {
	row, err := marshalEntity(sess.keys.partition, rowSession, map[string]any{
		"Data": aztables.EDMBinary(sess.keys.seal(sess.sealedWith(), data)),
	})
	if err != nil {
		return err
	}
	resp, err := s.table.UpdateEntity(ctx, row, &aztables.UpdateEntityOptions{IfMatch: &sess.etag, UpdateMode: aztables.UpdateModeMerge})
	if err != nil {
		return classify("update session", err)
	}
	sess.etag, sess.Data = resp.ETag, data
	return nil
}

// Delete removes a session and its token cache in one transaction, since
// both rows share a partition.
func (s *Store) Delete(ctx context.Context, sess *Session) error {
	_, err := s.table.SubmitTransaction(ctx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeDelete, Entity: keyEntity(sess.keys.partition, rowSession)},
		{ActionType: aztables.TransactionTypeDelete, Entity: keyEntity(sess.keys.partition, rowTokenCache)},
	}, nil)
	if err == nil {
		return nil
	}
	// A row already gone (a session without a cache, a sweep) fails the
	// whole transaction: delete one by one.
	for _, rk := range []string{rowSession, rowTokenCache} {
		_, err := s.table.DeleteEntity(ctx, sess.keys.partition, rk, nil)
		if err := classify("delete session", err); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func keyEntity(pk, rk string) []byte {
	b, _ := json.Marshal(aztables.Entity{PartitionKey: pk, RowKey: rk})
	return b
}

// list calls fn for each entity that opts select, page by page.
func (s *Store) list(ctx context.Context, op string, opts *aztables.ListEntitiesOptions, fn func(aztables.EDMEntity) error) error {
	pager := s.table.NewListEntitiesPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return classify(op, err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("session: %s: decoding row: %w", op, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func marshalEntity(pk, rk string, props map[string]any) ([]byte, error) {
	b, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: pk, RowKey: rk}, Properties: props})
	if err != nil {
		return nil, fmt.Errorf("session: encoding %s row: %w", rk, err)
	}
	return b, nil
}
