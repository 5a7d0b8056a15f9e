package migrate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Level is how serious a lint finding is; an error fails `migrate lint`.
type Level string

// The levels.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
)

// Rule is a lint rule: an id for CI annotations and suppressions, a short
// name, and its level.
type Rule struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level Level  `json:"level"`
	// Doc says what the rule catches and why it matters; when Option is
	// set, it ends where that option's name goes (Text).
	Doc string `json:"doc"`
	// Option is the option whose limit the rule holds files to.
	Option Option `json:"option,omitempty"`
}

// Text is the rule's Doc with the option it refers to named by name: a
// command passes the names of its flags.
func (r Rule) Text(name func(Option) string) string {
	if r.Option == "" {
		return r.Doc
	}
	return r.Doc + " " + name(r.Option)
}

// The lint rules.
var (
	RuleSum            = Rule{"HP100", "sum-mismatch", LevelError, "the directory does not match atlas.sum: a file was edited, added or removed by hand", ""}
	RuleNotConcurrent  = Rule{"HP101", "index-not-concurrent", LevelError, "CREATE INDEX without CONCURRENTLY blocks every write to an existing table until the build ends", ""}
	RuleConcurrentInTx = Rule{"HP102", "concurrent-in-transaction", LevelError, "CONCURRENTLY fails inside a transaction: the file needs `-- atlas:txmode none` and no BEGIN", ""}
	RuleDropNotConc    = Rule{"HP103", "drop-index-not-concurrent", LevelError, "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table: reads and writes queue behind it", ""}
	RuleUniqueDirect   = Rule{"HP104", "unique-constraint-direct", LevelError, "ADD CONSTRAINT ... UNIQUE builds its index under a SHARE lock: build a unique index CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX", ""}
	RuleBuildTooLong   = Rule{"HP105", "build-too-long", LevelError, "the table is large enough that the build, at the rate measured on this server, exceeds", OptMaxBuild}
	RuleDuplicate      = Rule{"HP106", "duplicate-index", LevelError, "an index with the same keys already exists: this one costs writes and space and serves nothing new", ""}
	RuleCovered        = Rule{"HP107", "covered-index", LevelWarning, "an existing index starts with the same keys and can serve the same lookups", ""}
	RuleMissingTable   = Rule{"HP108", "missing-table", LevelError, "the indexed table does not exist in the database", ""}
	RuleNotIdempotent  = Rule{"HP109", "not-idempotent", LevelWarning, "without IF [NOT] EXISTS, running the file again after an interruption fails", ""}
	RuleMissingDown    = Rule{"HP110", "missing-down", LevelWarning, "the file has no down file in down/: `migrate down` cannot revert it", ""}
	// RuleOtherDDL is an error because apply refuses the file: a migration
	// directory of index builds is no place for a DROP TABLE or an UPDATE
	// that a review of "index changes" would let through.
	RuleOtherDDL = Rule{"HP111", "not-an-index-statement", LevelError, "apply builds and drops indexes only (CREATE INDEX, DROP INDEX, ALTER INDEX ... ATTACH PARTITION, COMMENT ON INDEX) and refuses a file holding anything else unless other DDL is explicitly allowed", ""}
	// RuleUnqualified is an error, not a warning, because apply refuses
	// the file: with search_path pinned to pg_catalog an unqualified table
	// finds nothing, and under anyone else's search_path it may find
	// another schema's table of the same name.
	RuleUnqualified = Rule{"HP112", "unqualified-name", LevelError, "a table or index named without its schema is found through the session's search_path, so the same file can build on another schema's table of the same name; apply refuses it", ""}
	// RuleConcurrentPartitioned is an error because PostgreSQL refuses
	// the statement, and only once the deploy runs it: the file passes
	// every static check.
	RuleConcurrentPartitioned = Rule{"HP113", "concurrent-on-partitioned", LevelError, "PostgreSQL cannot build an index on a partitioned table CONCURRENTLY: index it ON ONLY the table, then CONCURRENTLY on each partition, attaching each (indexes plan writes this sequence)", ""}
	// RulePartitionKeyUnique is an error because PostgreSQL refuses the
	// index: uniqueness is enforced per partition, so it holds across the
	// table only when the partition key is part of the key.
	RulePartitionKeyUnique = Rule{"HP114", "unique-without-partition-key", LevelError, "a unique index on a partitioned table must hold every column of the partition key (PostgreSQL enforces uniqueness partition by partition)", ""}
	// RuleNameTaken is an error because apply refuses the file (a
	// ConflictError) and, run by hand, its IF NOT EXISTS would skip the
	// build and leave the older index in its place.
	RuleNameTaken = Rule{"HP115", "name-taken", LevelError, "the index's name is already taken in its schema, by an index with another definition or by another relation: apply refuses the file, and IF NOT EXISTS would skip the build silently", ""}
)

// Rules lists every rule, in id order.
var Rules = []Rule{RuleSum, RuleNotConcurrent, RuleConcurrentInTx, RuleDropNotConc, RuleUniqueDirect,
	RuleBuildTooLong, RuleDuplicate, RuleCovered, RuleMissingTable, RuleNotIdempotent, RuleMissingDown, RuleOtherDDL, RuleUnqualified,
	RuleConcurrentPartitioned, RulePartitionKeyUnique, RuleNameTaken}

// Finding is one problem lint found.
type Finding struct {
	Rule    string `json:"rule"`
	Name    string `json:"name"`
	Level   Level  `json:"level"`
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// DefaultMaxBuild is the longest build lint lets through: ten minutes of a
// table held in SHARE UPDATE EXCLUSIVE (no VACUUM, no other DDL) and of a
// deploy waiting.
const DefaultMaxBuild = 10 * time.Minute

// concurrentBuildFactor is how much longer a concurrent build takes than a
// plain one: CREATE INDEX CONCURRENTLY reads the table twice (build, then
// validate) and waits for transactions between the passes.
const concurrentBuildFactor = 2

// rateSampleRows is the size of the table the build rate is measured on:
// about 10 MB, indexed in a fraction of a second.
const rateSampleRows = 200_000

// LintOptions configure Lint.
type LintOptions struct {
	// MaxBuild is the longest estimated build allowed (DefaultMaxBuild).
	MaxBuild time.Duration
	// BuildRate is the build rate in bytes of table per second; zero
	// measures it on the server.
	BuildRate float64
	// All lints every file, not only the pending ones.
	All bool
	// RevisionsSchema holds atlas_schema_revisions.
	RevisionsSchema string
	// OptionName words an option in the findings' messages (a build
	// longer than MaxBuild): the command passes the names of its flags;
	// nil names the field.
	OptionName func(Option) string
}

// LintReport is what Lint found.
type LintReport struct {
	Dir      string    `json:"dir"`
	Files    []string  `json:"files"`
	Findings []Finding `json:"findings"`
	// BuildRate is the rate build times were estimated at (bytes/s), zero
	// when no build was estimated.
	BuildRate float64 `json:"build_rate_bytes_per_second,omitempty"`
	Errors    int     `json:"errors"`
	Warnings  int     `json:"warnings"`
}

func (r *LintReport) add(rule Rule, file string, line int, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Rule: rule.ID, Name: rule.Name, Level: rule.Level, File: file, Line: line, Message: fmt.Sprintf(format, args...)})
	if rule.Level == LevelError {
		r.Errors++
	} else {
		r.Warnings++
	}
}

// Lint checks the directory's pending files (all files with All, or with
// no connection) for what makes a migration unsafe on a live database.
// With a connection it also checks them against the database: tables that
// are missing, builds that would take too long, indexes that duplicate or
// are covered by existing ones. Lint changes nothing.
func Lint(ctx context.Context, conn *pgx.Conn, dir *Dir, opts LintOptions) (*LintReport, error) {
	if opts.MaxBuild <= 0 {
		opts.MaxBuild = DefaultMaxBuild
	}
	rep := &LintReport{Dir: dir.Path, Files: []string{}, Findings: []Finding{}}
	rel := func(name string) string { return filepath.Join(dir.Path, name) }
	if err := dir.Validate(); err != nil {
		file := filepath.Join(dir.Path, "atlas.sum")
		if se := (*SumError)(nil); errors.As(err, &se) && se.File != "" {
			file = filepath.Join(se.Dir, se.File)
		}
		rep.add(RuleSum, file, 0, "%v", err)
	}
	migs, err := dir.Migrations()
	if err != nil {
		return nil, err
	}
	if conn != nil {
		// The database is read as apply will see it.
		restore, err := pinSearchPath(ctx, conn)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	todo := migs
	if conn != nil && !opts.All {
		revs, err := NewRevisions(conn, opts.RevisionsSchema).ReadRevisions(ctx)
		if err != nil {
			return nil, err
		}
		done := map[string]bool{}
		for _, r := range revs {
			done[r.Version] = applied(r)
		}
		todo = nil
		for _, m := range migs {
			if !done[m.Version] {
				todo = append(todo, m)
			}
		}
	}
	// Indexes the directory creates, for duplicates among its own files.
	planned := map[string][]*indexdef.Def{}
	order := map[string]int{} // by table and name: the file order
	for _, m := range migs {
		for _, ix := range m.Indexes {
			planned[ix.QualifiedTable()] = append(planned[ix.QualifiedTable()], ix)
			order[ix.QualifiedTable()+"."+ix.Name] = len(order)
		}
	}
	existing := map[string][]*CatalogIndex{}
	for _, m := range todo {
		rep.Files = append(rep.Files, m.File)
		file := rel(m.File)
		if m.DownFile == "" {
			rep.add(RuleMissingDown, file, 0, "%s has no down file %s", m.File, filepath.Join(DownDir, m.File))
		}
		created := map[string]bool{}
		inTx := false
		for _, s := range m.Statements {
			unqualified := lintKind(rep, file, s)
			p, err := s.Parsed()
			if err != nil {
				continue
			}
			switch p.Kind {
			case sqlscan.KindBegin, sqlscan.KindStart:
				inTx = true
			case sqlscan.KindCommit, sqlscan.KindRollback:
				inTx = false
			case sqlscan.KindCreateTable:
				if len(p.Relations) > 0 {
					created[p.Relations[0].String()] = true
				}
			case sqlscan.KindAlterTable:
				if p.AddsUnique && len(p.Relations) > 0 {
					rep.add(RuleUniqueDirect, file, s.Line, "UNIQUE constraint added directly on %s: build the unique index CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX", p.Relations[0])
				}
			case sqlscan.KindDropIndex:
				names := make([]string, len(p.DropIndexes))
				for i, n := range p.DropIndexes {
					names[i] = n.String()
				}
				switch {
				case !p.Concurrently:
					rep.add(RuleDropNotConc, file, s.Line, "DROP INDEX %s without CONCURRENTLY", strings.Join(names, ", "))
				case m.TxMode != TxModeNone || inTx:
					rep.add(RuleConcurrentInTx, file, s.Line, "DROP INDEX CONCURRENTLY %s", txWhy(m, inTx))
				}
				if !p.IfExists {
					rep.add(RuleNotIdempotent, file, s.Line, "DROP INDEX without IF EXISTS")
				}
			case sqlscan.KindCreateIndex:
				ix := p.Index
				table := ix.QualifiedTable()
				switch {
				case !p.Concurrently && !ix.Only && !created[table]:
					rep.add(RuleNotConcurrent, file, s.Line, "CREATE INDEX %s on %s without CONCURRENTLY blocks writes for the whole build", ix.Name, ix.Table)
				case p.Concurrently && (m.TxMode != TxModeNone || inTx):
					rep.add(RuleConcurrentInTx, file, s.Line, "CREATE INDEX CONCURRENTLY %s %s", ix.Name, txWhy(m, inTx))
				}
				if p.Concurrently && !p.IfExists {
					rep.add(RuleNotIdempotent, file, s.Line, "CREATE INDEX CONCURRENTLY %s without IF NOT EXISTS", ix.Name)
				}
				for _, other := range planned[table] {
					if other.Name == ix.Name || order[table+"."+other.Name] >= order[table+"."+ix.Name] {
						// A pair is reported once, on the later index.
						continue
					}
					if same, _, _ := indexdef.Match(other, ix); same && ix.Where == other.Where && !ix.HasExpr() {
						rep.add(RuleDuplicate, file, s.Line, "%s has the same keys as %s, also created by this directory", ix.Name, other.Name)
					}
				}
				if conn == nil || created[table] || unqualified {
					continue
				}
				if err := lintAgainstDB(ctx, conn, rep, file, s.Line, p, existing, &opts); err != nil {
					return nil, err
				}
			}
		}
	}
	return rep, nil
}

// lintKind reports what apply would refuse in a statement whatever the
// database holds: a statement that is not an index statement (HP111) and
// a name without its schema (HP112). It returns whether a name is left
// unqualified, which makes the database checks of the statement
// meaningless.
func lintKind(rep *LintReport, file string, s Statement) (unqualified bool) {
	p, err := s.Parsed()
	switch {
	case err != nil:
		rep.add(RuleOtherDDL, file, s.Line, "%s does not parse: %v", shortStmt(s.SQL), err)
		return false
	case p.Kind == "":
		return false
	case !indexKinds[p.Kind]:
		rep.add(RuleOtherDDL, file, s.Line, "%s is not an index statement", shortStmt(s.SQL))
		return false
	}
	if n, ok := unqualifiedName(p); ok {
		rep.add(RuleUnqualified, file, s.Line, "%s names %s without its schema: write it as <schema>.%s", p.Kind, n, n)
		return true
	}
	return false
}

func txWhy(m *Migration, inTx bool) string {
	if inTx {
		return "runs after BEGIN, inside a transaction"
	}
	return fmt.Sprintf("is in a file with txmode %s: head it with `-- atlas:txmode none`", m.TxMode)
}

// lintAgainstDB checks one index against the database's tables and
// indexes.
func lintAgainstDB(ctx context.Context, conn *pgx.Conn, rep *LintReport, file string, line int, p *sqlscan.Parsed, existing map[string][]*CatalogIndex, opts *LintOptions) error {
	ix := p.Index
	table := ix.QualifiedTable()
	kind, err := relKind(ctx, conn, table)
	if err != nil {
		return err
	}
	if kind == "" {
		rep.add(RuleMissingTable, file, line, "table %s of index %s does not exist", table, ix.Name)
		return nil
	}
	if kind == "p" {
		if err := lintPartitioned(ctx, conn, rep, file, line, p); err != nil {
			return err
		}
	} else if ix.Only && !p.Concurrently {
		rep.add(RuleNotConcurrent, file, line, "CREATE INDEX %s ON ONLY %s: the table is not partitioned, so ONLY changes nothing and the index is built without CONCURRENTLY, blocking writes for the whole build", ix.Name, table)
	}
	if err := lintName(ctx, conn, rep, file, line, ix); err != nil {
		return err
	}
	if _, ok := existing[table]; !ok {
		list, err := tableIndexes(ctx, conn, table)
		if err != nil {
			return err
		}
		existing[table] = list
	}
	for _, c := range existing[table] {
		if c.Name == ix.Name || !c.Valid {
			continue
		}
		if same, _, _ := indexdef.Match(c.def(), ix); same && !ix.HasExpr() && ix.Where == "" {
			rep.add(RuleDuplicate, file, line, "%s duplicates the existing index %s: %s", ix.Name, c.Name, c.Definition)
			continue
		}
		if indexdef.Covers(c.def(), ix) {
			rep.add(RuleCovered, file, line, "%s is covered by the existing index %s, whose keys start with the same columns: %s", ix.Name, c.Name, c.Definition)
		}
	}
	var bytes int64
	// An index on a partitioned table, ON ONLY it aside, is built on every
	// partition: its size is theirs.
	if err := conn.QueryRow(ctx, `SELECT CASE WHEN $2 THEN pg_table_size(to_regclass($1))
		ELSE (SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint FROM pg_partition_tree(to_regclass($1))) END`,
		table, kind != "p" || ix.Only).Scan(&bytes); err != nil {
		return fmt.Errorf("migrate: size of %s: %w", table, err)
	}
	if opts.BuildRate <= 0 {
		rate, err := measureBuildRate(ctx, conn)
		if err != nil {
			return err
		}
		opts.BuildRate = rate
	}
	rep.BuildRate = opts.BuildRate
	est := time.Duration(float64(bytes) / opts.BuildRate * concurrentBuildFactor * float64(time.Second))
	if est > opts.MaxBuild {
		rep.add(RuleBuildTooLong, file, line, "%s on %s (%s) would build for about %s at %s/s, more than %s %s: build it in a quiet hour, or raise maintenance_work_mem",
			ix.Name, ix.Table, bytesText(bytes), est.Round(time.Second), bytesText(int64(opts.BuildRate)), optionName(opts.OptionName)(OptMaxBuild), opts.MaxBuild)
	}
	return nil
}

// lintName reports an index whose name another relation of its schema
// holds: an index with another definition (the one apply's build and ON
// ONLY steps compare, sameDefinition), or a table, sequence or view, with
// which indexes share the namespace (HP115). An index of the same name and
// definition is the file applied by hand, which apply marks applied.
func lintName(ctx context.Context, conn *pgx.Conn, rep *LintReport, file string, line int, ix *indexdef.Def) error {
	kind, err := pg.NameTaken(ctx, conn, ix.Name, ix.QualifiedTable())
	switch {
	case err != nil:
		return fmt.Errorf("migrate: look up index %s: %w", ix.Name, err)
	case kind == "":
		return nil
	case kind != "i" && kind != "I":
		rep.add(RuleNameTaken, file, line, "%s is already the name of a relation that is not an index (relkind %s) in schema %s: rename the index",
			ix.Name, kind, indexdef.QuoteIdent(ix.Schema))
		return nil
	}
	c, err := findIndex(ctx, conn, ix)
	if err != nil || c == nil {
		return err
	}
	same, why, err := sameDefinition(ctx, conn, c, ix)
	if err != nil {
		return err
	}
	if !same {
		rep.add(RuleNameTaken, file, line, "index %s already exists with another definition (%s): %s; rename the new index or drop the existing one", ix.Name, why, c.Definition)
	}
	return nil
}

// measureBuildRate builds an index on a temporary table of known size and
// returns the bytes of table indexed per second, in a transaction rolled
// back at once.
func measureBuildRate(ctx context.Context, conn *pgx.Conn) (float64, error) {
	// Room for the sample in local buffers, as a real table has shared
	// buffers; refused (and harmless) once the session used temp tables.
	conn.Exec(ctx, pg.Tagged(`SET temp_buffers = '64MB'`))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, pg.Tagged(`CREATE TEMPORARY TABLE hishamos_perf_rate ON COMMIT DROP AS
		SELECT g AS id, (g * 7919) % 100003 AS k, md5(g::text) AS s, now() - g * interval '1 second' AS at
		FROM generate_series(1, $1::int) g`), rateSampleRows); err != nil {
		return 0, fmt.Errorf("migrate: measure build rate: %w", err)
	}
	var bytes int64
	if err := tx.QueryRow(ctx, pg.Tagged(`SELECT pg_table_size('pg_temp.hishamos_perf_rate')`)).Scan(&bytes); err != nil {
		return 0, fmt.Errorf("migrate: measure build rate: %w", err)
	}
	start := time.Now()
	if _, err := tx.Exec(ctx, pg.Tagged(`CREATE INDEX ON pg_temp.hishamos_perf_rate (k, s, at)`)); err != nil {
		return 0, fmt.Errorf("migrate: measure build rate: %w", err)
	}
	took := time.Since(start).Seconds()
	if took <= 0 {
		took = 1e-6
	}
	return float64(bytes) / took, nil
}

// bytesText writes a size short, in decimal units as --build-rate takes
// them: 512 B, 12.3 MB, 4.56 GB.
func bytesText(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// lintPartitioned checks an index on a partitioned table: it cannot be
// built CONCURRENTLY (HP113), and a unique one must hold the partition key
// (HP114). Its build time is its partitions', which the sequence's own
// statements are checked for.
func lintPartitioned(ctx context.Context, conn *pgx.Conn, rep *LintReport, file string, line int, p *sqlscan.Parsed) error {
	ix := p.Index
	table := ix.QualifiedTable()
	if p.Concurrently {
		rep.add(RuleConcurrentPartitioned, file, line, "CREATE INDEX CONCURRENTLY %s on %s, which is partitioned: PostgreSQL refuses it; write CREATE INDEX %s ON ONLY %s, then for each partition CREATE INDEX CONCURRENTLY and ALTER INDEX %s ATTACH PARTITION (indexes plan writes this sequence)",
			ix.Name, table, ix.Name, table, ix.QualifiedName())
	}
	if !ix.Unique {
		return nil
	}
	tree, err := ReadPartitions(ctx, conn, ix.TableName())
	if err != nil || tree == nil {
		return err
	}
	if missing := missingKeyColumns(ix, tree); len(missing) > 0 {
		rep.add(RulePartitionKeyUnique, file, line, "UNIQUE index %s on %s lacks %s of its partition key %s: PostgreSQL refuses it, since it enforces uniqueness partition by partition; add the key's columns to the index",
			ix.Name, table, strings.Join(missing, ", "), tree.Key)
	}
	return nil
}

// missingKeyColumns lists the columns of the table's partition key that a
// unique index lacks as plain key columns; an expression in the partition
// key cannot be in a unique index at all, and is listed as the key.
func missingKeyColumns(ix *indexdef.Def, tree *Partition) []string {
	have := map[string]bool{}
	for _, k := range ix.Keys {
		if k.Column != "" && k.Expr == "" {
			have[k.Column] = true
		}
	}
	var missing []string
	for _, c := range tree.KeyColumns {
		switch {
		case c == "":
			missing = append(missing, "the expression")
		case !have[c]:
			missing = append(missing, indexdef.QuoteIdent(c))
		}
	}
	return missing
}
