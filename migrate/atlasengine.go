package migrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"

	"ariga.io/atlas-go-sdk/atlasexec"
	"github.com/jackc/pgx/v5/pgconn"
)

// Engines apply, status and lint run on.
const (
	// EngineNative is this package: no binary needed.
	EngineNative = "native"
	// EngineAtlas hands the work to the atlas CLI through atlas-go-sdk.
	EngineAtlas = "atlas"
)

// ErrNoAtlas is returned for the atlas engine when no atlas binary is on
// PATH. The command that chose the engine by a flag words it with the flag.
var ErrNoAtlas = errors.New("the atlas engine needs the atlas binary on PATH, and there is none (install it from https://atlasgo.io/getting-started, or use the native engine, which needs no binary)")

// AtlasEngine runs migrations with the atlas CLI.
type AtlasEngine struct {
	atlas *atlasexec.Client
	// Binary is the atlas binary's path.
	Binary string
}

// NewAtlasEngine finds binary ("atlas" when empty) on PATH; when it is not
// there the error is ErrNoAtlas.
func NewAtlasEngine(binary string) (*AtlasEngine, error) {
	if binary == "" {
		binary = "atlas"
	}
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoAtlas, err)
	}
	c, err := atlasexec.NewClient("", path)
	if err != nil {
		return nil, fmt.Errorf("migrate: atlas: %w", err)
	}
	return &AtlasEngine{atlas: c, Binary: path}, nil
}

// atlasPasswordEnv is the variable the atlas child reads its password
// from: atlas's PostgreSQL driver (lib/pq) takes PGPASSWORD from its
// environment when the URL has none. The environment of a process is
// readable by its user and root only (/proc/<pid>/environ is 0400), its
// command line by everyone (ps, /proc/<pid>/cmdline).
const atlasPasswordEnv = "PGPASSWORD"

// atlasTarget is what the atlas child is given for a database: a URL
// without the password, for its command line, and the password, for its
// environment.
type atlasTarget struct {
	url, password string
}

// atlasURLs is a database's URL, without its password, and a directory's
// URL as atlas takes them.
func atlasURLs(dsn string, dir *Dir) (db atlasTarget, d string, err error) {
	if db.url, db.password, err = atlasURL(dsn); err != nil {
		return atlasTarget{}, "", err
	}
	if d, err = dirURL(dir); err != nil {
		return atlasTarget{}, "", err
	}
	return db, d, nil
}

func dirURL(dir *Dir) (string, error) {
	abs, err := filepath.Abs(dir.Path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: abs}).String(), nil
}

// AtlasURL turns a libpq connection string (URL or key=value) into the
// postgres:// URL the atlas CLI takes, without the password: a command
// line is public to every user of the machine, so the password goes to
// the atlas child through its environment instead.
func AtlasURL(dsn string) (string, error) {
	u, _, err := atlasURL(dsn)
	return u, err
}

// atlasURL is AtlasURL and the password it leaves out (the DSN's, else
// PGPASSWORD's or the password file's, as libpq would find it).
func atlasURL(dsn string) (string, string, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", "", fmt.Errorf("migrate: atlas URL: %w", err)
	}
	u := &url.URL{Scheme: "postgres", Path: "/" + cfg.Database, User: url.User(cfg.User)}
	q := url.Values{}
	if filepath.IsAbs(cfg.Host) {
		q.Set("host", cfg.Host)
		u.Host = "localhost:" + strconv.Itoa(int(cfg.Port))
	} else {
		u.Host = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	if cfg.TLSConfig == nil {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), cfg.Password, nil
}

// client is the atlas client for one run against db: the password, when
// there is one, is set in the child's environment and nowhere else.
func (e *AtlasEngine) client(db atlasTarget) (*atlasexec.Client, error) {
	env := atlasexec.NewOSEnviron()
	delete(env, atlasPasswordEnv)
	if db.password != "" {
		env[atlasPasswordEnv] = db.password
	}
	if err := e.atlas.SetEnv(env); err != nil {
		return nil, fmt.Errorf("migrate: atlas: %w", err)
	}
	return e.atlas, nil
}

// Apply runs `atlas migrate apply` on the directory. Atlas does none of
// the native engine's care around concurrent builds (INVALID leftovers,
// retries, validity checks) and runs whatever a file holds: callers check
// the directory with CheckPending first.
func (e *AtlasEngine) Apply(ctx context.Context, dsn string, dir *Dir, opts ApplyOptions) (*atlasexec.MigrateApply, error) {
	u, d, err := atlasURLs(dsn, dir)
	if err != nil {
		return nil, err
	}
	c, err := e.client(u)
	if err != nil {
		return nil, err
	}
	p := &atlasexec.MigrateApplyParams{URL: u.url, DirURL: d, DryRun: opts.DryRun, AllowDirty: true, RevisionsSchema: opts.RevisionsSchema}
	if opts.N > 0 {
		p.Amount = uint64(opts.N)
	}
	res, err := c.MigrateApply(ctx, p)
	if err != nil {
		return res, fmt.Errorf("migrate: atlas migrate apply: %w", err)
	}
	return res, nil
}

// Status runs `atlas migrate status`.
func (e *AtlasEngine) Status(ctx context.Context, dsn string, dir *Dir, revisionsSchema string) (*atlasexec.MigrateStatus, error) {
	u, d, err := atlasURLs(dsn, dir)
	if err != nil {
		return nil, err
	}
	c, err := e.client(u)
	if err != nil {
		return nil, err
	}
	res, err := c.MigrateStatus(ctx, &atlasexec.MigrateStatusParams{URL: u.url, DirURL: d, RevisionsSchema: revisionsSchema})
	if err != nil {
		return res, fmt.Errorf("migrate: atlas migrate status: %w", err)
	}
	return res, nil
}

// Lint runs `atlas migrate lint` on the latest n files against a dev
// database.
func (e *AtlasEngine) Lint(ctx context.Context, devDSN string, dir *Dir, latest int) (*atlasexec.SummaryReport, error) {
	u, d, err := atlasURLs(devDSN, dir)
	if err != nil {
		return nil, err
	}
	if latest <= 0 {
		latest = 1
	}
	c, err := e.client(u)
	if err != nil {
		return nil, err
	}
	res, err := c.MigrateLint(ctx, &atlasexec.MigrateLintParams{DevURL: u.url, DirURL: d, Latest: uint64(latest)})
	if err != nil {
		return res, fmt.Errorf("migrate: atlas migrate lint: %w", err)
	}
	return res, nil
}
