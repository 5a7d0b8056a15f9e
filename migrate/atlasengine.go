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

// ErrNoAtlas is returned for --engine atlas when no atlas binary is on
// PATH.
var ErrNoAtlas = errors.New("--engine atlas needs the atlas binary on PATH, and there is none (install it from https://atlasgo.io/getting-started, or leave --engine at native, which needs no binary)")

// AtlasEngine runs migrations with the atlas CLI.
type AtlasEngine struct {
	client *atlasexec.Client
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
	return &AtlasEngine{client: c, Binary: path}, nil
}

// dirURL is the directory as atlas takes it.
// atlasURLs is a database's URL and a directory's URL as atlas takes them.
func atlasURLs(dsn string, dir *Dir) (db, d string, err error) {
	if db, err = AtlasURL(dsn); err != nil {
		return "", "", err
	}
	if d, err = dirURL(dir); err != nil {
		return "", "", err
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
// postgres:// URL the atlas CLI takes.
func AtlasURL(dsn string) (string, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("migrate: atlas URL: %w", err)
	}
	u := &url.URL{Scheme: "postgres", Path: "/" + cfg.Database}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
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
	return u.String(), nil
}

// Apply runs `atlas migrate apply` on the directory. Atlas does none of
// the native engine's care around concurrent builds (INVALID leftovers,
// retries, validity checks).
func (e *AtlasEngine) Apply(ctx context.Context, dsn string, dir *Dir, opts ApplyOptions) (*atlasexec.MigrateApply, error) {
	u, d, err := atlasURLs(dsn, dir)
	if err != nil {
		return nil, err
	}
	p := &atlasexec.MigrateApplyParams{URL: u, DirURL: d, DryRun: opts.DryRun, AllowDirty: true, RevisionsSchema: opts.RevisionsSchema}
	if opts.N > 0 {
		p.Amount = uint64(opts.N)
	}
	res, err := e.client.MigrateApply(ctx, p)
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
	res, err := e.client.MigrateStatus(ctx, &atlasexec.MigrateStatusParams{URL: u, DirURL: d, RevisionsSchema: revisionsSchema})
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
	res, err := e.client.MigrateLint(ctx, &atlasexec.MigrateLintParams{DevURL: u, DirURL: d, Latest: uint64(latest)})
	if err != nil {
		return res, fmt.Errorf("migrate: atlas migrate lint: %w", err)
	}
	return res, nil
}
