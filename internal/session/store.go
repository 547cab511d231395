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
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

var (
	// ErrNotFound reports a session or pending sign-in that does not exist,
	// has expired, or cannot be decrypted: the visitor is simply signed out.
	ErrNotFound = errors.New("session: not found")
	// ErrStale reports a write that lost a race: the row changed since it
	// was read (HTTP 412 on the ETag).
	ErrStale = errors.New("session: row changed since it was read")
	// ErrUnavailable reports that Table Storage could not be reached or
	// refused the request.
	ErrUnavailable = errors.New("session: table storage unavailable")
	// ErrTooLarge reports a token cache larger than one entity can hold.
	ErrTooLarge = errors.New("session: token cache too large for one table entity")
	// ErrRefused reports that Table Storage refused the request for good,
	// such as a 403 when the identity lacks its role: a configuration
	// error, not an outage.
	ErrRefused = errors.New("session: table storage refused the request")
)

// Row keys inside a session's or a pending sign-in's partition.
const (
	rowSession    = "session"
	rowTokenCache = "tokencache"
	rowPending    = "pending" // the purpose a pending sign-in's keys are derived for
	rowUsed       = "used"    // the mark of a state whose callback came
)

// PendingLifetime is how long a started sign-in may take.
const PendingLifetime = 10 * time.Minute

// clockSkew is how far the clocks of two instances may differ: a pending
// sign-in sealed by one is opened by another.
const clockSkew = time.Minute

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
	_, _, err := s.read(ctx, "ping", "ping")
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

func tableNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound) || batchErrorCode(err) == string(aztables.TableNotFound)
}

// batchErrorCode is the storage error code of a failed transaction, which
// answers 202 with the failed operation's status and code only inside its
// multipart body ("Performing entity group transactions").
func batchErrorCode(err error) string {
	re, ok := errors.AsType[*azcore.ResponseError](err)
	if !ok || re.StatusCode != http.StatusAccepted || re.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return ""
	}
	batch, err := multipartReader(re.RawResponse.Header.Get("Content-Type"), bytes.NewReader(body))
	if err != nil {
		return ""
	}
	changeset, err := batch.NextPart()
	if err != nil {
		return ""
	}
	parts, err := multipartReader(changeset.Header.Get("Content-Type"), changeset)
	if err != nil {
		return ""
	}
	for part, err := parts.NextPart(); err == nil; part, err = parts.NextPart() {
		resp, err := http.ReadResponse(bufio.NewReader(part), nil)
		if err != nil || resp.StatusCode < 400 {
			continue
		}
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"odata.error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return e.Error.Code
	}
	return ""
}

func multipartReader(contentType string, r io.Reader) (*multipart.Reader, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, err
	}
	return multipart.NewReader(r, params["boundary"]), nil
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
	body, etag, err := s.read(ctx, sess.keys.partition, rowSession)
	if err != nil {
		return nil, classify("load session", err)
	}
	// One decode, into just the properties a session row has.
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

// TokenCache returns the session's serialized token cache, read with one
// point read the first time it is asked for; nil when the session has none.
// A cache that cannot be opened is as good as none: the user signs in again
// rather than seeing an error.
func (s *Store) TokenCache(ctx context.Context, sess *Session) ([]byte, error) {
	if !sess.cacheRead {
		body, etag, err := s.read(ctx, sess.keys.partition, rowTokenCache)
		switch err := classify("load token cache", err); {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			chunks := map[string]json.RawMessage{}
			if err := json.Unmarshal(body, &chunks); err != nil {
				return nil, fmt.Errorf("session: load token cache: decoding row: %w", err)
			}
			sess.cache, sess.cacheETag = joinChunks(chunks), etag
		}
		sess.cacheRead = true
	}
	if sess.cache == nil {
		return nil, nil
	}
	b, err := sess.keys.open(rowTokenCache, bytes.Clone(sess.cache)) // sess.cache stays sealed for the next call
	if err != nil {
		return nil, nil
	}
	return b, nil
}

// SaveTokenCache writes the session's token cache, guarded by the ETag it
// was loaded with. A concurrent writer makes it fail with ErrStale; the
// caller reloads the session and retries.
func (s *Store) SaveTokenCache(ctx context.Context, sess *Session, data []byte) error {
	row, sealed, err := s.tokenCacheEntity(sess, data)
	if err != nil {
		return err
	}
	var etag azcore.ETag
	if sess.cacheETag == "" {
		// The first cache of a session is added together with a no-op
		// merge of the session row, so a session deleted meanwhile (a
		// logout in another tab) gets no orphan cache holding live tokens.
		exists := azcore.ETagAny
		_, err := s.table.SubmitTransaction(ctx, []aztables.TransactionAction{
			{ActionType: aztables.TransactionTypeAdd, Entity: row},
			{ActionType: aztables.TransactionTypeUpdateMerge, Entity: keyEntity(sess.keys.partition, rowSession), IfMatch: &exists},
		}, nil)
		switch code := batchErrorCode(err); {
		case code == "EntityAlreadyExists":
			return ErrStale // another request created it first
		case code == "ResourceNotFound":
			return ErrNotFound
		case err != nil:
			return classify("save token cache", err)
		}
		// A transaction returns no ETags: a later write in this request
		// adds again and loses as stale, which re-reads the session.
	} else {
		resp, err := s.table.UpdateEntity(ctx, row, &aztables.UpdateEntityOptions{IfMatch: &sess.cacheETag, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			return classify("save token cache", err)
		}
		etag = resp.ETag
	}
	sess.cache, sess.cacheETag, sess.cacheRead = sealed, etag, true
	return nil
}

// Table Storage limits (learn.microsoft.com, "Understanding the Table
// service data model"): a binary property holds 64 KiB; an entity 1 MiB of
// JSON, in which binary grows by a third as base64.
const (
	chunkSize = 64 << 10
	maxChunks = 10
)

// tokenCacheEntity splits the sealed cache across binary properties of one
// entity, so one ETag guards it and one write replaces it whole.
func (s *Store) tokenCacheEntity(sess *Session, data []byte) (row, sealed []byte, err error) {
	sealed = sess.keys.seal(rowTokenCache, data)
	if len(sealed) > chunkSize*maxChunks {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(sealed), chunkSize*maxChunks)
	}
	props := map[string]any{
		"Expires": aztables.EDMDateTime(sess.Created.Add(s.absolute)),
	}
	for i, rest := 0, sealed; len(rest) > 0; i++ {
		n := min(chunkSize, len(rest))
		props[fmt.Sprintf("D%d", i)] = aztables.EDMBinary(rest[:n])
		rest = rest[n:]
	}
	row, err = marshalEntity(sess.keys.partition, rowTokenCache, props)
	return row, sealed, err
}

func joinChunks(props map[string]json.RawMessage) []byte {
	var b []byte
	for i := range maxChunks {
		raw, ok := props[fmt.Sprintf("D%d", i)]
		if !ok {
			break
		}
		var chunk []byte
		if json.Unmarshal(raw, &chunk) != nil {
			return nil
		}
		b = append(b, chunk...)
	}
	return b
}

// NewState returns a fresh state parameter for a pending sign-in: 256
// random bits, from which the pending sign-in's keys derive.
func NewState() string { return newSecret().String() }

// A pending sign-in lives in the browser that started it, in a cookie that
// SealPending makes, not in the table: starting a sign-in costs no write,
// and only that browser can finish it (login CSRF, RFC 6749 §10.12). The
// table keeps only the mark that a state was used (Consume).

// errNoPendingKey reports a Store made without Options.PendingKey.
var errNoPendingKey = errors.New("session: Options.PendingKey is not set")

// SealPending returns a cookie value carrying data for the sign-in of state:
// sealed with a key derived from the state and the server's PendingKey,
// with its expiry inside.
func (s *Store) SealPending(state string, data []byte) (string, error) {
	return s.sealPending(state, data, s.now().Add(PendingLifetime))
}

func (s *Store) sealPending(state string, data []byte, expires time.Time) (string, error) {
	if len(s.pending) == 0 {
		return "", errNoPendingKey
	}
	st, err := parseSecret(state)
	if err != nil {
		return "", err
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	sealed := st.deriveWith(s.pending, rowPending).seal(rowPending, append(plain, data...))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenPending returns the data that SealPending sealed for state; ErrNotFound
// when the value was made for another state or without the server's key,
// was altered, has expired, or claims to live longer than PendingLifetime.
func (s *Store) OpenPending(state, value string) ([]byte, error) {
	if len(s.pending) == 0 {
		return nil, errNoPendingKey
	}
	st, err := parseSecret(state)
	if err != nil {
		return nil, ErrNotFound
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, ErrNotFound
	}
	plain, err := st.deriveWith(s.pending, rowPending).open(rowPending, sealed)
	if err != nil || len(plain) < 8 {
		return nil, ErrNotFound
	}
	// The lifetime is capped here too, whatever the value says.
	now := s.now()
	expires := time.Unix(int64(binary.BigEndian.Uint64(plain)), 0)
	if !now.Before(expires) || expires.Sub(now) > PendingLifetime+clockSkew {
		return nil, ErrNotFound
	}
	return plain[8:], nil
}

// Consume marks state used: the first caller succeeds, every later one gets
// ErrNotFound, so a callback cannot be replayed. One insert; the mark
// expires with the sign-in and the sweep removes it. The mark names the
// call that made it, so when the SDK retries an insert whose first attempt
// succeeded unseen, the 409 of the retry is known for this call's own.
func (s *Store) Consume(ctx context.Context, state string) error {
	st, err := parseSecret(state)
	if err != nil {
		return ErrNotFound
	}
	partition, attempt := st.derive(rowPending).partition, newSecret().String()
	row, err := marshalEntity(partition, rowUsed, map[string]any{
		"Expires": aztables.EDMDateTime(s.now().UTC().Add(PendingLifetime)),
		"Attempt": attempt,
	})
	if err != nil {
		return err
	}
	err = s.retryWithTable(ctx, func() error {
		_, err := s.table.AddEntity(ctx, row, nil)
		return err
	})
	if re, ok := errors.AsType[*azcore.ResponseError](err); ok && re.ErrorCode == string(aztables.EntityAlreadyExists) {
		return s.consumedBy(ctx, partition, attempt)
	}
	return classify("consume sign-in", err)
}

// consumedBy is nil when the mark of a consumed state is attempt's own,
// ErrNotFound when another call made it.
func (s *Store) consumedBy(ctx context.Context, partition, attempt string) error {
	body, _, err := s.read(ctx, partition, rowUsed)
	if err != nil {
		return classify("read sign-in mark", err)
	}
	var mark struct{ Attempt string }
	if err := json.Unmarshal(body, &mark); err != nil {
		return fmt.Errorf("session: decoding sign-in mark: %w", err)
	}
	if mark.Attempt != attempt {
		return ErrNotFound
	}
	return nil
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

// classify maps Table Storage errors onto this package's errors; any failure
// other than a missing row or a lost race means the store is unavailable.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 404:
			if re.ErrorCode == string(aztables.TableNotFound) {
				break
			}
			return ErrNotFound
		case 412:
			return ErrStale
		case 408, 429:
		default:
			if re.StatusCode >= 400 && re.StatusCode < 500 {
				return fmt.Errorf("session: %s: %w: %w", op, ErrRefused, err)
			}
		}
	}
	return fmt.Errorf("session: %s: %w: %w", op, ErrUnavailable, err)
}
