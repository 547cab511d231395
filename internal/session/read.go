package session

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// pointRead asks for an entity without OData annotations ("Payload format
// for Table service operations", JSON, no metadata): the properties alone.
// Every property read here is a string, binary as base64 and times as
// ISO 8601, which is what the rows' fields decode from.
var pointRead = &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatNone)}

// ReadPolicy is an azcore pipeline policy for the Table Storage client a
// Store reads with (aztables.ClientOptions.PerCallPolicies). The SDK
// decodes a read entity into a map and encodes it to JSON again; with this
// policy a point read made by a Store keeps the response's own JSON and
// hands the SDK an empty body instead, so each row is decoded once, into
// the Store's own struct, and a session's read asks for just the
// properties a page needs ($select). It touches no other request. Without
// it a Store works the same, at the SDK's cost.
type ReadPolicy struct{}

// rawRow is what a point read asks of ReadPolicy, and where ReadPolicy
// leaves its response.
type rawRow struct {
	selected string // the properties to return, comma-separated; "" for all

	read bool // ReadPolicy ran and took the body
	body []byte
	etag azcore.ETag
}

type rawRowKey struct{}

// Do implements policy.Policy. It sits outside the SDK's retries, so it
// sees the final response. The body, a few kilobytes, is read here through
// a reused buffer and copied out at its length, rather than by the SDK into
// a buffer grown by doubling; a read that fails half way is not retried,
// and the page answers "try again" (ErrUnavailable) with the session kept.
func (ReadPolicy) Do(req *policy.Request) (*http.Response, error) {
	row, _ := req.Raw().Context().Value(rawRowKey{}).(*rawRow)
	if row == nil {
		return req.Next()
	}
	if u := req.Raw().URL; row.selected != "" && !strings.Contains(u.RawQuery, "$select=") {
		// "Query Entities": $select on a single entity's URI returns just
		// those properties; the ETag still comes in the response header
		// (MS-ODATA §2.2.5.4, a request for a single entity).
		u.RawQuery += "&$select=" + row.selected
	}
	runtime.SkipBodyDownload(req) // error responses are still read by the SDK
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	buf := rowBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // a rare large token cache's buffer is not kept
			buf.Reset()
			rowBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxRow+1)); err != nil {
		return nil, fmt.Errorf("session: reading a row: %w", err)
	}
	if buf.Len() > maxRow {
		return nil, fmt.Errorf("session: a row of more than %d bytes", maxRow)
	}
	row.read, row.body, row.etag = true, bytes.Clone(buf.Bytes()), azcore.ETag(resp.Header.Get("ETag"))
	resp.Body = http.NoBody
	return resp, nil
}

var rowBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxRow bounds a row's JSON: an entity holds at most 1 MiB of properties,
// which base64 makes 4/3 as long ("Understanding the Table service data
// model", Entity size).
const maxRow = 2 << 20

// read is a point read of one row: its JSON, decoded by the caller, and its
// ETag. With ReadPolicy it holds only the properties named in selected
// (comma-separated, "" for all); without, every one. Errors are the SDK's.
func (s *Store) read(ctx context.Context, partition, row, selected string) ([]byte, azcore.ETag, error) {
	raw := &rawRow{selected: selected}
	resp, err := s.table.GetEntity(context.WithValue(ctx, rawRowKey{}, raw), partition, row, pointRead)
	if err != nil {
		return nil, "", err
	}
	body, etag := resp.Value, resp.ETag
	if raw.read {
		body, etag = raw.body, raw.etag
	}
	if etag == "" {
		// Every write after a read is guarded by its ETag (If-Match): one
		// made without it would overwrite whatever another request wrote.
		return nil, "", fmt.Errorf("session: the point read of row %q came without an ETag", row)
	}
	return body, etag, nil
}
