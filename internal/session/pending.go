package session

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// PendingLifetime is how long a started sign-in may take.
const PendingLifetime = 10 * time.Minute

// clockSkew is how far the clocks of two instances may differ: a pending
// sign-in sealed by one is opened by another.
const clockSkew = time.Minute

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
	body, _, err := s.read(ctx, partition, rowUsed, "")
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
