package testdb

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	tlsOnce sync.Once
	tlsErr  error
)

// TLSDSN is a connection string for the database dsn names over loopback
// TCP with TLS required (sslmode=require, a self-signed certificate), for
// tests of the paths a TLS connection takes. The first call turns TLS on
// in the package's sandbox (a reload, no restart); it skips the test on
// the server of HISHAMOS_PERF_TEST_DSN.
func TLSDSN(t testing.TB, dsn string) string {
	t.Helper()
	if Box == nil {
		t.Skip("testdb: TLS is turned on in the package's sandbox, and the tests run on " + EnvDSN)
	}
	tlsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tlsErr = Box.EnableTLS(ctx)
	})
	if tlsErr != nil {
		t.Fatalf("testdb: turn TLS on: %v", tlsErr)
	}
	st, err := Box.LoadState()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("testdb: parse DSN: %v", err)
	}
	tlsDSN := Box.TLSDSN(st, cfg.Database)
	conn, err := pgx.Connect(context.Background(), tlsDSN)
	if err != nil {
		t.Fatalf("testdb: connect with TLS: %v", err)
	}
	defer conn.Close(context.Background())
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("testdb: %s connected without TLS", Box.Dir)
	}
	return tlsDSN
}
