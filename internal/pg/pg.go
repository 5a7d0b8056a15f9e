// Package pg resolves where hishamos-perf connects, opens safe sessions, and
// keeps passwords out of everything it reports.
package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Sources of a connection string, in the order Resolve tries them.
const (
	SourceFlag     = "--dsn"
	SourceEnv      = "HISHAMOS_PERF_DSN"
	SourceDatabase = "DATABASE_URL"
	SourceLibpq    = "PG* variables"
	SourceSandbox  = "sandbox"
)

// ApplicationName is what the tool's sessions show in pg_stat_activity, so a
// DBA can tell them apart from the application's own.
const ApplicationName = "hishamos-perf"

// ErrBadDSN is returned for a connection string that cannot be parsed.
var ErrBadDSN = errors.New("invalid connection string")

// ErrConnect is returned when the server cannot be reached or refuses the
// connection (wrong password, unknown database, no permission).
var ErrConnect = errors.New("cannot connect")

// Target is where a command connects: a DSN and where it came from.
type Target struct {
	// DSN is the connection string; empty means libpq's PG* variables alone.
	DSN string `json:"-"`
	// Source names where the DSN came from (one of the Source constants).
	Source string `json:"source"`
}

// Sandbox reports whether the target is the embedded sandbox.
func (t Target) Sandbox() bool { return t.Source == SourceSandbox }

// String shows the target with its password removed.
func (t Target) String() string {
	if t.DSN == "" {
		return t.Source
	}
	return Redact(t.DSN)
}

// Resolve picks the connection string: the --dsn flag, then
// HISHAMOS_PERF_DSN, then DATABASE_URL, then libpq's PG* variables when
// PGHOST or PGDATABASE is set. With none of these it returns a sandbox target
// with an empty DSN, for the caller to fill in once the sandbox is up.
func Resolve(flagDSN string, getenv func(string) string) Target {
	switch {
	case flagDSN != "":
		return Target{DSN: flagDSN, Source: SourceFlag}
	case getenv(SourceEnv) != "":
		return Target{DSN: getenv(SourceEnv), Source: SourceEnv}
	case getenv(SourceDatabase) != "":
		return Target{DSN: getenv(SourceDatabase), Source: SourceDatabase}
	case getenv("PGHOST") != "" || getenv("PGDATABASE") != "":
		return Target{Source: SourceLibpq}
	}
	return Target{Source: SourceSandbox}
}

// Session holds the settings every session of the tool runs under.
type Session struct {
	// StatementTimeout caps each statement; zero leaves the server's default
	// in place, which builds of indexes need (a timeout mid-build leaves an
	// INVALID index behind).
	StatementTimeout time.Duration
	// LockTimeout caps each wait for a lock.
	LockTimeout time.Duration
	// ReadOnly makes every transaction of the session read-only.
	ReadOnly bool
}

// DefaultSession is what analyze and bench use: read-only, 30 s per
// statement, 5 s per lock wait.
var DefaultSession = Session{StatementTimeout: 30 * time.Second, LockTimeout: 5 * time.Second, ReadOnly: true}

// ParseConfig parses a target's DSN into a pgx configuration carrying the
// session settings as startup parameters, so they hold from the first
// statement on.
func ParseConfig(t Target, s Session) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(t.DSN)
	if err != nil {
		return nil, fmt.Errorf("%w from %s: %s", ErrBadDSN, t.Source, RedactText(describe(err), t.DSN))
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = ApplicationName
	}
	if s.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = fmt.Sprint(s.StatementTimeout.Milliseconds())
	}
	if s.LockTimeout > 0 {
		cfg.RuntimeParams["lock_timeout"] = fmt.Sprint(s.LockTimeout.Milliseconds())
	}
	if s.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// Every socket counts what it reads (countedConn): bench's bytes
	// received per request on the pgconn path.
	if dial := cfg.DialFunc; dial != nil {
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countedConn{Conn: c}, nil
		}
	}
	// pgx's default answer to a cancelled context drops the connection
	// at once and sends the server its cancel request from a goroutine
	// that a process on its way out (Ctrl-C, SIGTERM) does not wait for:
	// the statement then runs on until it next writes to the client,
	// seconds, or minutes for a statement of megabytes still being
	// parsed. Here the cancel request is sent before the statement
	// returns, and the session survives it.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: CancelGrace}
	}
	return cfg, nil
}

// CancelGrace is how long a statement whose context ends waits for the
// server to confirm the cancel request sent for it before its connection is
// dropped: enough for a server parsing a 12 MB IN list to reach its next
// interrupt check (about 2 s on PostgreSQL 15 on a 2-core machine), short
// enough that Ctrl-C still feels immediate. Confirmed, the session lives on
// to roll back and clean up.
const CancelGrace = 3 * time.Second

// Connect opens one connection to the target under the session settings.
// Errors wrap ErrBadDSN or ErrConnect and never contain the password.
func Connect(ctx context.Context, t Target, s Session) (*pgx.Conn, error) {
	cfg, err := ParseConfig(t, s)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		where := fmt.Sprintf("%s:%d/%s as %s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
		if strings.HasPrefix(cfg.Host, "/") {
			where = fmt.Sprintf("socket %s/.s.PGSQL.%d, database %s as %s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
		}
		return nil, fmt.Errorf("%w to %s: %s", ErrConnect, where, RedactText(describe(err), t.DSN, cfg.Password))
	}
	return conn, nil
}

// describe turns a connection error into one line: the server's message and
// hint for a refusal, the innermost cause for a network failure.
func describe(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := pgErr.Message
		switch pgErr.Code {
		case "28P01", "28000":
			msg += " (check the user and password; the password is not shown)"
		case "3D000":
			msg += " (create it, or name another database in the DSN)"
		}
		if pgErr.Hint != "" {
			msg += "; hint: " + pgErr.Hint
		}
		return msg + " (SQLSTATE " + pgErr.Code + ")"
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	return err.Error()
}

var (
	keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)`)
	urlPassword     = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)`)
)

// redacted stands in for a removed password.
const redacted = "xxxxx"

// Redact removes the password from a DSN in URL or keyword=value form.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, has := u.User.Password(); u.User != nil && has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", redacted)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return RedactText(dsn)
}

// RedactText removes passwords from free text: password=… pairs, the
// password part of postgres:// URLs, and each given secret verbatim (a DSN's
// password, PGPASSWORD).
func RedactText(s string, secrets ...string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+redacted+"${3}")
	s = keywordPassword.ReplaceAllString(s, "${1}"+redacted)
	for _, secret := range secrets {
		for _, p := range passwordsIn(secret) {
			if len(p) >= 3 {
				s = strings.ReplaceAll(s, p, redacted)
			}
		}
	}
	return s
}

// passwordsIn returns the password a secret stands for: the password of a
// DSN, or the secret itself when it is not a DSN.
func passwordsIn(secret string) []string {
	if secret == "" {
		return nil
	}
	if strings.Contains(secret, "://") || strings.Contains(secret, "=") {
		if cfg, err := pgconn.ParseConfig(secret); err == nil {
			if cfg.Password == "" {
				return nil
			}
			return []string{cfg.Password, url.QueryEscape(cfg.Password), url.PathEscape(cfg.Password)}
		}
		return nil
	}
	return []string{secret}
}

// Querier is the part of a pgx connection that read-only code needs; both
// *pgx.Conn and pgx transactions satisfy it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
