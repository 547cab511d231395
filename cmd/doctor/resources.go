package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// checkAPI calls the API without a token: any answer but a 5xx shows that
// API_ENDPOINT is reachable; a protected API says 401.
func (d *doctor) checkAPI(ctx context.Context, endpoint string) result {
	const name = "API endpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return failed(name, "correct "+config.APIEndpoint, "%v", err)
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return failed(name, "correct "+config.APIEndpoint+", or start the API", "%s unreachable: %v", endpoint, transportCause(err))
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return failed(name, "check the API's own health and logs", "%s answered %d", endpoint, resp.StatusCode)
	}
	return ok(name, "%s answers (%d without a token)", endpoint, resp.StatusCode)
}

// checkTable reads a row that does not exist with the configured identity:
// ResourceNotFound means the table exists and the identity may read it.
func checkTable(ctx context.Context, table *aztables.Client, name string) result {
	if name == "" {
		name = "sessions"
	}
	title := "session table " + name
	_, err := table.GetEntity(ctx, "doctor", "doctor", nil)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return ok(title, "reachable with the configured identity")
	case errors.As(err, &re) && re.ErrorCode == string(aztables.ResourceNotFound):
		return ok(title, "exists, and the configured identity reads it")
	case errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound):
		return failed(title, "deploy infra/ (storage.bicep creates it), or start the handler once, which creates it; or correct "+auth.EnvTableName,
			"the table does not exist (TableNotFound)")
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized):
		return failed(title, "assign the identity Storage Table Data Contributor on the storage account (infra/modules/roles.bicep), and check "+auth.EnvManagedIdentityID,
			"the identity may not read it (%d %s)", re.StatusCode, re.ErrorCode)
	case errors.As(err, &re):
		return failed(title, "check "+auth.EnvTableEndpoint, "Table Storage answered %d %s", re.StatusCode, re.ErrorCode)
	}
	return failed(title, "check "+auth.EnvTableEndpoint+" and the managed identity ("+auth.EnvManagedIdentityID+"): run doctor where the app's identity is, or -skip table",
		"unreachable: %s", firstLine(err.Error()))
}
