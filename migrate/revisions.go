package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// DefaultRevisionsSchema is where the atlas CLI keeps its revisions table on
// PostgreSQL when its URL names no schema; this package uses the same.
const DefaultRevisionsSchema = "atlas_schema_revisions"

// RevisionsTable is the revisions table's name, the atlas CLI's.
const RevisionsTable = "atlas_schema_revisions"

// revisionsDDL creates the table as the atlas CLI creates it, so either
// tool reads what the other wrote.
const revisionsDDL = `CREATE TABLE IF NOT EXISTS %s (
	"version" character varying NOT NULL,
	"description" character varying NOT NULL,
	"type" bigint NOT NULL DEFAULT 2,
	"applied" bigint NOT NULL DEFAULT 0,
	"total" bigint NOT NULL DEFAULT 0,
	"executed_at" timestamptz NOT NULL,
	"execution_time" bigint NOT NULL,
	"error" text NULL,
	"error_stmt" text NULL,
	"hash" character varying NOT NULL,
	"partial_hashes" jsonb NULL,
	"operator_version" character varying NOT NULL,
	PRIMARY KEY ("version")
)`

// Revisions is a migrate.RevisionReadWriter on the atlas_schema_revisions
// table. It writes a revision only once at least one of its statements is
// done (for an index: valid and ready in pg_index): the row Atlas's
// Executor writes before starting a file, and the one it writes after a
// first statement fails, are not kept, so an interrupted apply leaves no
// dirty version behind and the next one starts the file again.
type Revisions struct {
	q      pg.Querier
	schema string
	// tx reports the session's transaction status ('E' in a failed
	// transaction, where nothing can be written); nil means always idle.
	tx func() byte
	// held is the version whose revision is kept back until release:
	// written only when the whole file is done, and then only once
	// release is called (a partitioned index's file, which is done when
	// its index is valid). kept is the complete revision kept back.
	held string
	kept *migrate.Revision
}

// hold keeps the revision of version back until release (see held); ""
// holds none and forgets what was kept.
func (r *Revisions) hold(version string) {
	r.held, r.kept = version, nil
}

// release writes the revision kept back by hold, when its file ran to the
// end.
func (r *Revisions) release(ctx context.Context) error {
	rev := r.kept
	r.held, r.kept = "", nil
	if rev == nil {
		return fmt.Errorf("migrate: the file ran, but no complete revision was made for it")
	}
	return r.WriteRevision(ctx, rev)
}

var _ migrate.RevisionReadWriter = (*Revisions)(nil)

// NewRevisions returns the revisions table in schema (empty means
// DefaultRevisionsSchema) read and written through q.
func NewRevisions(q pg.Querier, schema string) *Revisions {
	if schema == "" {
		schema = DefaultRevisionsSchema
	}
	r := &Revisions{q: q, schema: schema}
	if c, ok := q.(*pgx.Conn); ok {
		r.tx = func() byte { return c.PgConn().TxStatus() }
	}
	return r
}

func (r *Revisions) table() string { return pgx.Identifier{r.schema, RevisionsTable}.Sanitize() }

// Ident implements migrate.RevisionReadWriter.
func (r *Revisions) Ident() *migrate.TableIdent {
	return &migrate.TableIdent{Name: RevisionsTable, Schema: r.schema}
}

// Exists reports whether the table is there.
func (r *Revisions) Exists(ctx context.Context) (bool, error) {
	return r.exists(ctx, "USAGE")
}

// exists is Exists; privilege is what a permission error's GRANT asks for.
func (r *Revisions) exists(ctx context.Context, privilege string) (bool, error) {
	var ok bool
	err := r.q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, r.table()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("migrate: look up %s: %w", r.table(), r.privilege(ctx, err, privilege))
	}
	return ok, nil
}

// Ensure creates the schema and table when missing.
func (r *Revisions) Ensure(ctx context.Context) error {
	if ok, err := r.exists(ctx, "USAGE, CREATE"); err != nil || ok {
		return err
	}
	// CREATE SCHEMA IF NOT EXISTS checks CREATE on the database even when
	// the schema exists: skip it then, so a role given CREATE on a schema
	// made for it by an administrator needs nothing on the database.
	var schemaExists bool
	if err := r.q.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, pgx.Identifier{r.schema}.Sanitize()).Scan(&schemaExists); err != nil {
		return fmt.Errorf("migrate: look up schema %s: %w", r.schema, err)
	}
	if !schemaExists {
		if _, err := r.q.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{r.schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", r.schema, r.privilege(ctx, err, "CREATE"))
		}
	}
	if _, err := r.q.Exec(ctx, fmt.Sprintf(revisionsDDL, r.table())); err != nil {
		return fmt.Errorf("migrate: create %s: %w", r.table(), r.privilege(ctx, err, "USAGE, CREATE"))
	}
	return nil
}

// privilege adds the GRANT that fixes a permission error (SQLSTATE 42501)
// to err; other errors come back unchanged.
func (r *Revisions) privilege(ctx context.Context, err error, privilege string) error {
	if _, ok := pg.FixFor(err, "", privilege); !ok {
		return err
	}
	var role string
	if qerr := r.q.QueryRow(ctx, `SELECT current_user`).Scan(&role); qerr != nil {
		return err
	}
	return pg.PrivilegeError(err, role, privilege)
}

const revisionColumns = `version, description, type, applied, total, executed_at, execution_time,
	coalesce(error, ''), coalesce(error_stmt, ''), hash, partial_hashes, operator_version`

// ReadRevisions implements migrate.RevisionReadWriter. A missing table
// reads as no revisions. Rows whose version starts with '.' are the atlas
// CLI's bookkeeping (its cloud identifier), not revisions.
func (r *Revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	if ok, err := r.Exists(ctx); err != nil || !ok {
		return nil, err
	}
	rows, err := r.q.Query(ctx, `SELECT `+revisionColumns+` FROM `+r.table()+` WHERE version NOT LIKE '.%' ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	defer rows.Close()
	var revs []*migrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	return revs, nil
}

// ReadRevision implements migrate.RevisionReadWriter.
func (r *Revisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	if ok, err := r.Exists(ctx); err != nil {
		return nil, err
	} else if !ok {
		return nil, migrate.ErrRevisionNotExist
	}
	rows, err := r.q.Query(ctx, `SELECT `+revisionColumns+` FROM `+r.table()+` WHERE version = $1`, version)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revision %s: %w", version, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("migrate: read revision %s: %w", version, err)
		}
		return nil, migrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

func scanRevision(rows pgx.Rows) (*migrate.Revision, error) {
	var (
		rev           migrate.Revision
		typ, applied  int64
		total, execNs int64
		partial       []byte
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &applied, &total, &rev.ExecutedAt, &execNs,
		&rev.Error, &rev.ErrorStmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
		return nil, fmt.Errorf("migrate: read revision: %w", err)
	}
	rev.Type = migrate.RevisionType(typ)
	rev.Applied, rev.Total = int(applied), int(total)
	rev.ExecutionTime = time.Duration(execNs)
	if len(partial) > 0 && string(partial) != "null" {
		if err := json.Unmarshal(partial, &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("migrate: revision %s: partial_hashes: %w", rev.Version, err)
		}
	}
	return &rev, nil
}

// WriteRevision implements migrate.RevisionReadWriter, keeping only
// revisions with a statement done (see Revisions).
func (r *Revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	if r.held != "" && rev.Version == r.held {
		if rev.Applied >= rev.Total && rev.Error == "" {
			c := *rev
			r.kept = &c
		}
		return nil
	}
	if rev.Applied == 0 && !rev.Type.Has(migrate.RevisionTypeBaseline) && !rev.Type.Has(migrate.RevisionTypeResolved) {
		return nil
	}
	if r.tx != nil && r.tx() == 'E' {
		// The file's transaction failed and will be rolled back; so would
		// this row.
		return nil
	}
	var partial any
	if rev.PartialHashes != nil {
		b, err := json.Marshal(rev.PartialHashes)
		if err != nil {
			return err
		}
		partial = string(b)
	}
	var errText, errStmt any
	if rev.Error != "" {
		errText = rev.Error
	}
	if rev.ErrorStmt != "" {
		errStmt = rev.ErrorStmt
	}
	executedAt := rev.ExecutedAt
	if executedAt.IsZero() {
		executedAt = time.Now()
	}
	_, err := r.q.Exec(ctx, `INSERT INTO `+r.table()+` (version, description, type, applied, total, executed_at,
		execution_time, error, error_stmt, hash, partial_hashes, operator_version)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)
	ON CONFLICT (version) DO UPDATE SET description = EXCLUDED.description, type = EXCLUDED.type,
		applied = EXCLUDED.applied, total = EXCLUDED.total, executed_at = EXCLUDED.executed_at,
		execution_time = EXCLUDED.execution_time, error = EXCLUDED.error, error_stmt = EXCLUDED.error_stmt,
		hash = EXCLUDED.hash, partial_hashes = EXCLUDED.partial_hashes, operator_version = EXCLUDED.operator_version`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total, executedAt,
		int64(rev.ExecutionTime), errText, errStmt, rev.Hash, partial, rev.OperatorVersion)
	if err != nil {
		return fmt.Errorf("migrate: write revision %s: %w", rev.Version, err)
	}
	return nil
}

// DeleteRevision implements migrate.RevisionReadWriter.
func (r *Revisions) DeleteRevision(ctx context.Context, version string) error {
	_, err := r.q.Exec(ctx, `DELETE FROM `+r.table()+` WHERE version = $1`, version)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
			return nil
		}
		return fmt.Errorf("migrate: delete revision %s: %w", version, err)
	}
	return nil
}

// applied reports whether every statement of the revision ran.
func applied(rev *migrate.Revision) bool {
	return rev.Applied >= rev.Total || rev.Type.Has(migrate.RevisionTypeBaseline) || rev.Type.Has(migrate.RevisionTypeResolved)
}

// revisionNote describes a revision for a status line.
func revisionNote(rev *migrate.Revision) string {
	var parts []string
	if rev.Applied < rev.Total {
		parts = append(parts, fmt.Sprintf("%d of %d statements", rev.Applied, rev.Total))
	}
	if rev.Error != "" {
		parts = append(parts, "last error: "+rev.Error)
	}
	return strings.Join(parts, "; ")
}
