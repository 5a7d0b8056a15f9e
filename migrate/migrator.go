package migrate

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Migrator applies a directory's pending migrations and takes them down
// again, each step on a session of its own that Connect opens (not
// read-only, with lock_timeout, no statement_timeout, so that builds are
// not cut short). It is what `bench --apply` and the demo hand to bench
// (it has the methods of bench.Migrator), so that both run the same
// apply → ANALYZE → measure sequence.
type Migrator struct {
	Directory *Dir
	Connect   func(ctx context.Context) (*pgx.Conn, error)
	// Options are Apply's and Down's options; N and DryRun are set per
	// call.
	Options ApplyOptions
}

// Dir names the migration directory.
func (m *Migrator) Dir() string { return m.Directory.Path }

// Pending lists the files Apply would apply, from a dry run that changes
// nothing.
func (m *Migrator) Pending(ctx context.Context) ([]string, error) {
	o := m.Options
	o.DryRun = true
	var files []string
	err := m.with(ctx, func(conn *pgx.Conn) error {
		res, err := Apply(ctx, conn, m.Directory, o)
		if err != nil {
			return err
		}
		for _, f := range res.Files {
			files = append(files, f.File)
		}
		return nil
	})
	return files, err
}

// Apply applies every pending file and returns the files applied and the
// indexes they built, those before a failure included.
func (m *Migrator) Apply(ctx context.Context) (files, indexes []string, err error) {
	err = m.with(ctx, func(conn *pgx.Conn) error {
		res, err := Apply(ctx, conn, m.Directory, m.Options)
		if res != nil {
			for _, f := range res.Files {
				files = append(files, f.File)
				indexes = append(indexes, f.Indexes...)
			}
		}
		return err
	})
	return files, indexes, err
}

// Revert takes the n most recently applied versions down.
func (m *Migrator) Revert(ctx context.Context, n int) error {
	o := m.Options
	o.N = n
	return m.with(ctx, func(conn *pgx.Conn) error {
		_, err := Down(ctx, conn, m.Directory, o)
		return err
	})
}

// with runs f on a new session, closed afterwards.
func (m *Migrator) with(ctx context.Context, f func(*pgx.Conn) error) error {
	conn, err := m.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return f(conn)
}
