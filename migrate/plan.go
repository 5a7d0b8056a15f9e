package migrate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// DefaultName is the name plan gives a migration when none is asked for.
const DefaultName = "add_performance_indexes"

// versionLayout is Atlas's version format: a UTC timestamp to the second.
const versionLayout = "20060102150405"

// PlanOptions are what Plan needs besides the specs.
type PlanOptions struct {
	// Name goes into every file's name: <version>_<name>_<index>.sql.
	Name string
	// Now is the time the first version is taken from; zero means now.
	Now time.Time
	// Tool names the program in the files' headers.
	Tool string
	// Source says where the indexes come from (a proposals file, a
	// profile); the files' headers name it.
	Source string
	// Partitions are the partition trees of the partitioned tables among
	// the indexes' (PlanPartitions reads them). An index on one of them is
	// planned as PartitionedSteps' sequence; an index on a table missing
	// here is planned as on a plain table, which apply refuses for a
	// partitioned one (ErrConcurrentPartitioned).
	Partitions map[indexdef.Name]*Partition
}

// PlannedFile is one index written as a migration.
type PlannedFile struct {
	Version  string `json:"version"`
	File     string `json:"file"`
	DownFile string `json:"down_file"`
	Index    string `json:"index"`
	Table    string `json:"table"`
	Up       string `json:"up"`
	Down     string `json:"down"`
	// Partitions is how many partitions holding rows the index is built
	// on, for an index on a partitioned table; 0 for a plain table.
	Partitions int `json:"partitions,omitempty"`
}

// SkippedSpec is an index plan did not write, and why.
type SkippedSpec struct {
	Index  string `json:"index"`
	Reason string `json:"reason"`
}

// PlanResult is what Plan wrote.
type PlanResult struct {
	Dir     string        `json:"dir"`
	Files   []PlannedFile `json:"files"`
	Skipped []SkippedSpec `json:"skipped,omitempty"`
}

// Plan writes the indexes as the next versions of the migration directory
// at path, one index per file, and rewrites both sums. An index the
// directory already creates is skipped, so planning the same proposals
// twice adds nothing. A directory that fails Validate is refused: adding to
// it would bless a hand edit. So is an index CheckIndex refuses, and one
// without a schema (ErrNoSchema): every statement Plan writes names its
// table with its schema, so that no search_path can send the index to
// another schema's table of the same name. Each file is headed by the
// index's Comment.
func Plan(ctx context.Context, path string, indexes []indexdef.Def, opts PlanOptions) (*PlanResult, error) {
	name := indexdef.NamePart(opts.Name)
	if name == "" {
		name = DefaultName
	}
	defs := make([]indexdef.Def, 0, len(indexes))
	seen := map[string]bool{}
	res := &PlanResult{Dir: path}
	for _, d := range indexes {
		def, err := canonical(d)
		if err != nil {
			return nil, err
		}
		if def.Schema == "" {
			return nil, fmt.Errorf("%w %s: %w: table %s (resolve it with QualifyDefs, or name the schema)", ErrBadSpec, def.Name, ErrNoSchema, indexdef.QuoteIdent(def.Table))
		}
		if seen[def.Name] {
			res.Skipped = append(res.Skipped, SkippedSpec{Index: def.Name, Reason: "asked for twice"})
			continue
		}
		seen[def.Name] = true
		defs = append(defs, def)
	}
	if _, err := os.Stat(path); err == nil {
		if _, err := OpenDir(path); err != nil {
			return nil, err
		}
	}
	d, err := CreateDir(path)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	existing, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	type planned struct {
		file string
		def  *indexdef.Def
	}
	have := map[string]planned{}
	var versions []string
	for _, m := range existing {
		versions = append(versions, m.Version)
		for _, ix := range m.Indexes {
			have[ix.Name] = planned{file: m.File, def: ix}
		}
	}
	var todo []indexdef.Def
	for _, def := range defs {
		if p, ok := have[def.Name]; ok {
			if why := plannedDiffers(p.def, &def); why != "" {
				// Skipping it would lose the new index for good: the
				// directory would say it is planned, and apply would keep
				// the other one.
				return nil, fmt.Errorf("%w %s: already planned in %s with another definition (%s): give the new index another name, or remove the planned file if it was never applied",
					ErrBadSpec, def.Name, p.file, why)
			}
			res.Skipped = append(res.Skipped, SkippedSpec{Index: def.Name, Reason: "already planned in " + p.file})
			continue
		}
		todo = append(todo, def)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	next := nextVersions(versions, len(todo), now.UTC())
	var written []string
	cleanup := func() {
		for _, p := range written {
			os.Remove(p)
		}
	}
	for i, def := range todo {
		if err := ctx.Err(); err != nil {
			cleanup()
			return nil, err
		}
		up, down := def.CreateSQL(true, true), def.DropSQL(true, true)
		file := fmt.Sprintf("%s_%s_%s.sql", next[i], name, fileSafe(def.Name))
		upText := fileText(opts, &def, up, "")
		downText := fileText(opts, &def, down, file)
		parts := 0
		if tree := opts.Partitions[def.TableName()]; tree != nil {
			steps, err := PartitionedSteps(&def, tree)
			if err != nil {
				cleanup()
				return nil, err
			}
			up, down, parts = joinSteps(steps), def.DropSQL(false, true), len(tree.Leaves())
			upText = partitionedFileText(opts, &def, tree, steps)
			downText = partitionedDownText(&def, file)
		}
		for _, w := range []struct{ path, text string }{
			{filepath.Join(path, file), upText},
			{filepath.Join(path, DownDir, file), downText},
		} {
			if err := os.WriteFile(w.path, []byte(w.text), 0o644); err != nil {
				cleanup()
				return nil, fmt.Errorf("migrate: write %s: %w", w.path, err)
			}
			written = append(written, w.path)
		}
		res.Files = append(res.Files, PlannedFile{Version: next[i], File: file, DownFile: filepath.Join(DownDir, file),
			Index: def.Name, Table: def.Table, Up: up, Down: down, Partitions: parts})
	}
	if len(res.Files) > 0 {
		if _, err := d.Hash(); err != nil {
			cleanup()
			return nil, err
		}
	}
	return res, nil
}

// fileText is a migration file: the txmode directive, a blank line (Atlas
// reads directives only from the file's detached header), the comments and
// the statement.
func fileText(opts PlanOptions, def *indexdef.Def, stmt, reverts string) string {
	var b strings.Builder
	b.WriteString("-- atlas:txmode none\n\n")
	if reverts != "" {
		fmt.Fprintf(&b, "-- Reverts %s: drops index %s without blocking writes.\n", oneLine(reverts), oneLine(def.Name))
	} else {
		fmt.Fprintf(&b, "-- Index %s on %s, built without blocking writes.\n", oneLine(def.Name), oneLine(def.Table))
		fileHeader(&b, opts, def, "")
	}
	b.WriteString(stmt + ";\n")
	return b.String()
}

// fileHeader writes an up file's comments after its first line: the
// index's Comment, why (for a partitioned table), and who planned it from
// what.
func fileHeader(b *strings.Builder, opts PlanOptions, def *indexdef.Def, why string) {
	for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(def.Comment, "\r", "")), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString("-- " + oneLine(line) + "\n")
		}
	}
	if why != "" {
		b.WriteString("-- " + why + "\n")
	}
	if opts.Source != "" || opts.Tool != "" {
		who := opts.Tool
		if who == "" {
			who = "hishamos-perf"
		}
		if opts.Source != "" {
			fmt.Fprintf(b, "-- Planned by %s from %s.\n", oneLine(who), oneLine(opts.Source))
		} else {
			fmt.Fprintf(b, "-- Planned by %s.\n", oneLine(who))
		}
	}
}

// partitionedFileText is the up file of an index on a partitioned table:
// PartitionedSteps' statements, each headed by what it is for.
func partitionedFileText(opts PlanOptions, def *indexdef.Def, tree *Partition, steps []Step) string {
	var b strings.Builder
	b.WriteString("-- atlas:txmode none\n\n")
	fmt.Fprintf(&b, "-- Index %s on %s and its partitions, built without blocking writes.\n", oneLine(def.Name), oneLine(def.Table))
	fileHeader(&b, opts, def, partitionedWhy(def, tree))
	for _, s := range steps {
		if s.Note != "" {
			b.WriteString("\n-- " + oneLine(s.Note) + "\n")
		}
		b.WriteString(s.SQL + ";\n")
	}
	return b.String()
}

// partitionedDownText is the down file of an index on a partitioned table:
// one DROP INDEX, which drops the partitions' indexes with it, and cannot
// run CONCURRENTLY.
func partitionedDownText(def *indexdef.Def, reverts string) string {
	var b strings.Builder
	b.WriteString("-- atlas:txmode none\n\n")
	fmt.Fprintf(&b, "-- Reverts %s: drops index %s of the partitioned table %s, and with it the index of every partition.\n",
		oneLine(reverts), oneLine(def.Name), oneLine(def.Table))
	b.WriteString("-- PostgreSQL cannot drop a partitioned index CONCURRENTLY: the drop takes an ACCESS EXCLUSIVE lock on\n")
	b.WriteString("-- the table and on each partition, each for a moment; down waits for each under lock_timeout and retries.\n")
	b.WriteString(def.DropSQL(false, true) + ";\n")
	return b.String()
}

// joinSteps is a sequence's statements as one text, one per line.
func joinSteps(steps []Step) string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.SQL + ";"
	}
	return strings.Join(out, "\n")
}

// oneLine keeps a name inside the "--" comment it is written in: a line
// break in it would start a line of SQL.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}

// fileSafe is an index name as part of a file name: letters, digits, '_',
// '-' and '.' stay, anything else (a '/' above all) becomes '_'.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return '_'
	}, name)
}

// nextVersions returns n versions after the existing ones: timestamps from
// now on, one second apart, always above the last version; a directory of
// plain numbers (1, 2, 3) goes on counting.
func nextVersions(existing []string, n int, now time.Time) []string {
	last := ""
	for _, v := range existing {
		if len(v) > len(last) || len(v) == len(last) && v > last {
			last = v
		}
	}
	out := make([]string, n)
	if last != "" && len(last) != len(versionLayout) {
		if k, err := strconv.ParseUint(last, 10, 64); err == nil {
			for i := range out {
				out[i] = strconv.FormatUint(k+uint64(i)+1, 10)
			}
			return out
		}
	}
	start := now.Truncate(time.Second)
	if t, err := time.Parse(versionLayout, last); err == nil && !start.After(t) {
		start = t.Add(time.Second)
	}
	for i := range out {
		out[i] = start.Add(time.Duration(i) * time.Second).Format(versionLayout)
	}
	return out
}

// plannedDiffers says how the index a directory already plans under a name
// differs from the one asked for under it, "" when they are the same
// index: the same table, and what indexdef.Match compares, with
// expressions and predicates compared as the statements write them
// (without a server).
func plannedDiffers(have, want *indexdef.Def) string {
	if have.QualifiedTable() != want.QualifiedTable() {
		return "on " + have.QualifiedTable() + ", want " + want.QualifiedTable()
	}
	same, askServer, why := indexdef.Match(have, want)
	if !same {
		return why
	}
	// The statement as written, without what does not make the index
	// another one: its name, ONLY (a partitioned parent's) and comment.
	text := func(d *indexdef.Def) string {
		c := *d
		c.Name, c.Only, c.Comment = "", false, ""
		return c.CreateSQL(false, false)
	}
	if askServer && text(have) != text(want) {
		return text(have) + ", want " + text(want)
	}
	return ""
}
