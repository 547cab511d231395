package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

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
