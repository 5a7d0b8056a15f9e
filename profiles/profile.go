package profiles

import (
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Profile is a named workload: statements with weights and parameter
// generators, the hand-picked indexes meant to serve them, and the expected
// improvement once those indexes exist.
type Profile struct {
	// Name identifies the profile (letters, digits, '-' and '_'); a built-in
	// profile's name is its file name without .yaml.
	Name string `json:"name" yaml:"name"`
	// Description says in a sentence or two what the workload is.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Dataset names the data the profile is written for (for the built-in
	// profile: the HishamOS data set of internal/dataset).
	Dataset string `json:"dataset,omitempty" yaml:"dataset,omitempty"`
	// Scales lists the dataset scales the profile is meant to run at.
	Scales []string `json:"scales,omitempty" yaml:"scales,omitempty"`
	// Tables lists the tables the workload touches. When given, every
	// generator's source and every index must be on one of them.
	Tables []string `json:"tables,omitempty" yaml:"tables,omitempty"`
	// Statements is the workload.
	Statements []Statement `json:"statements" yaml:"statements"`
	// Indexes is the hand-picked index set the profile comes with.
	Indexes []Index `json:"indexes,omitempty" yaml:"indexes,omitempty"`
	// Expect is the improvement the index set's authors promise; nil when
	// they promise none.
	Expect *Expectation `json:"expect,omitempty" yaml:"expect,omitempty"`

	// File is where the profile was read from: a user's path, or
	// profiles/NAME.yaml for a built-in one. It is not part of the YAML.
	File string `json:"file,omitempty" yaml:"-"`
	// Builtin reports whether the profile is one of the embedded ones.
	Builtin bool `json:"builtin,omitempty" yaml:"-"`
}

// Statement is one SQL statement of a workload.
type Statement struct {
	// Name identifies the statement within its profile.
	Name string `json:"name" yaml:"name"`
	// Description says what the statement is for.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Source says where the application issues it (a view, a method).
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// SQL is one statement with $1, $2, ... placeholders.
	SQL string `json:"sql" yaml:"sql"`
	// Params holds one generator per placeholder: Params[0] draws $1,
	// Params[1] draws $2, and so on. Every $n used by SQL has exactly one.
	Params []Param `json:"params,omitempty" yaml:"params,omitempty"`
	// Weight is how often the statement runs relative to the others; it is 1
	// when the YAML leaves it out. Zero means the statement never runs on its
	// own, only as another statement's follow-up (see Then).
	Weight float64 `json:"weight" yaml:"weight"`
	// Write marks a statement that changes data. Statements are read-only
	// unless marked; a statement that is not marked but looks like a write
	// (INSERT, UPDATE, DELETE, MERGE, SELECT ... FOR UPDATE, DDL) is
	// rejected.
	Write bool `json:"write,omitempty" yaml:"write,omitempty"`
	// Indexes names the indexes of the profile's hand-picked set that are
	// meant to serve this statement; a statement with any is targeted.
	Indexes []string `json:"indexes,omitempty" yaml:"indexes,omitempty"`
	// Pair names the other half of a before/after pair: the same request
	// with the query written differently (one query per row before,
	// select_related after; every column before, only() after; the whole
	// list before, one page after). Both halves name each other.
	Pair string `json:"pair,omitempty" yaml:"pair,omitempty"`
	// Variant says which half of its pair the statement is.
	Variant Variant `json:"variant,omitempty" yaml:"variant,omitempty"`
	// Then lists statements the application issues right after this one as
	// part of the same request: an N+1 lookup once per row returned, or a
	// pagination COUNT once. A follow-up cannot have follow-ups itself.
	Then []Followup `json:"then,omitempty" yaml:"then,omitempty"`
}

// Targeted reports whether the profile's hand-picked indexes are meant to
// serve the statement.
func (s *Statement) Targeted() bool { return len(s.Indexes) > 0 }

// Variant is a statement's half of a before/after pair.
type Variant string

// The two halves of a pair.
const (
	// Before is the query as the application wrote it first.
	Before Variant = "before"
	// After is the query as the optimisation rewrote it.
	After Variant = "after"
)

// Followup is a statement issued as part of another statement's request.
type Followup struct {
	// Statement names the follow-up statement.
	Statement string `json:"statement" yaml:"statement"`
	// PerRow runs it once for every row the leading statement returns (the
	// N+1 pattern of a lazy foreign key); otherwise it runs once.
	PerRow bool `json:"per_row,omitempty" yaml:"per_row,omitempty"`
}

// GeneratorKind names how a parameter's values are drawn.
type GeneratorKind string

// The generator kinds. The set is closed: each kind has its own fields and
// validation, and Bind knows what each needs from the database.
const (
	// Sample draws a value of an existing column (From: table.column),
	// weighted as Skew says. Bind reads up to MaxSampleValues distinct values
	// with their frequencies, the most frequent first.
	Sample GeneratorKind = "sample"
	// Choice draws one of the literal Values, weighted by Weights when given.
	Choice GeneratorKind = "choice"
	// IntRange draws an integer from Min to Max inclusive in steps of Step.
	IntRange GeneratorKind = "int_range"
	// Recent is a timestamp: the largest value of the column From minus
	// Window, so time windows are relative to the data, not the wall clock.
	Recent GeneratorKind = "recent"
	// Const is always Value.
	Const GeneratorKind = "const"
)

// Kinds lists the generator kinds in the order error messages show them.
var Kinds = []GeneratorKind{Sample, Choice, IntRange, Recent, Const}

// Skew is how a Sample generator weighs the distinct values it read.
type Skew string

// The skews of a Sample generator.
const (
	// Frequency (the default) draws a value as often as it occurs in the
	// column: the data's own distribution.
	Frequency Skew = "frequency"
	// Uniform draws every distinct value equally often.
	Uniform Skew = "uniform"
	// Zipf ranks the distinct values by frequency and draws rank k with
	// probability proportional to 1/k, favouring the hot values (a busy
	// user, a popular category) more than the data does.
	Zipf Skew = "zipf"
)

// Param is the generator of one statement parameter. Kind says which of the
// other fields apply; a field that does not apply to the kind is an error.
type Param struct {
	// Name is an optional label for the parameter (e.g. the column it is
	// compared with), for people reading the profile.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Kind is the generator.
	Kind GeneratorKind `json:"kind" yaml:"kind"`
	// From is the column a Sample or Recent generator reads, as
	// table.column or schema.table.column, spelled as in the catalog.
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	// Skew weighs a Sample generator's values; empty means Frequency.
	Skew Skew `json:"skew,omitempty" yaml:"skew,omitempty"`
	// Values are a Choice generator's literals.
	Values []any `json:"values,omitempty" yaml:"values,omitempty"`
	// Weights, when given, weigh a Choice generator's Values one to one.
	Weights []float64 `json:"weights,omitempty" yaml:"weights,omitempty"`
	// Min and Max bound an IntRange generator, both inclusive.
	Min *int64 `json:"min,omitempty" yaml:"min,omitempty"`
	// Max is the upper bound of an IntRange generator.
	Max *int64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Step spaces an IntRange generator's values; zero means 1.
	Step int64 `json:"step,omitempty" yaml:"step,omitempty"`
	// Window is how far back from the column's largest value a Recent
	// generator reaches: a number and a unit (w, d, h, m, s), possibly
	// several, as in "7d" or "1d12h".
	Window string `json:"window,omitempty" yaml:"window,omitempty"`
	// Value is a Const generator's value.
	Value any `json:"value,omitempty" yaml:"value,omitempty"`
}

// Index is one index of a profile's hand-picked set.
type Index struct {
	// Name is the index's name, as the migration creating it would give it.
	Name string `json:"name" yaml:"name"`
	// Table is the indexed table.
	Table string `json:"table" yaml:"table"`
	// Columns are the key columns, in order.
	Columns []string `json:"columns" yaml:"columns"`
	// Description says why the index is there.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Def is the index as the one typed index definition: its columns read by
// internal/sqlscan (a column, "created_at DESC", "lower(email)"), the
// table as the profile names it (schema left to the caller, who resolves
// it), its description as the comment a migration file is headed with.
func (ix Index) Def() (indexdef.Def, error) {
	d := indexdef.Def{Name: ix.Name, Table: ix.Table, Method: indexdef.DefaultMethod, Comment: strings.TrimSpace(ix.Description)}
	for _, c := range ix.Columns {
		k, err := sqlscan.ParseKey(c)
		if err != nil {
			return d, fmt.Errorf("index %s: column %q: %w", ix.Name, c, err)
		}
		d.Keys = append(d.Keys, k)
	}
	return d, nil
}

// Expectation is the improvement a profile's authors promise from its
// hand-picked index set: the drop in the time of the targeted statements, in
// percent of the time without the indexes (40–60 means 40% to 60% faster).
type Expectation struct {
	// MinPercent is the smallest improvement promised.
	MinPercent float64 `json:"min_percent" yaml:"min_percent"`
	// MaxPercent is the largest improvement promised.
	MaxPercent float64 `json:"max_percent" yaml:"max_percent"`
	// Source says where the promise was made.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
}

// Pair is the two halves of a before/after pair.
type Pair struct {
	// Before is the query as first written.
	Before *Statement `json:"before"`
	// After is the rewritten query.
	After *Statement `json:"after"`
}

// Statement returns the statement called name, or nil.
func (p *Profile) Statement(name string) *Statement {
	for i := range p.Statements {
		if p.Statements[i].Name == name {
			return &p.Statements[i]
		}
	}
	return nil
}

// Index returns the index of the hand-picked set called name, or nil.
func (p *Profile) Index(name string) *Index {
	for i := range p.Indexes {
		if p.Indexes[i].Name == name {
			return &p.Indexes[i]
		}
	}
	return nil
}

// Targets returns the names of the statements the index called name is
// meant to serve, in profile order.
func (p *Profile) Targets(index string) []string {
	var names []string
	for _, s := range p.Statements {
		for _, ix := range s.Indexes {
			if ix == index {
				names = append(names, s.Name)
				break
			}
		}
	}
	return names
}

// Pairs returns the profile's before/after pairs, in the order their before
// halves appear.
func (p *Profile) Pairs() []Pair {
	var pairs []Pair
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Variant != Before {
			continue
		}
		if after := p.Statement(s.Pair); after != nil {
			pairs = append(pairs, Pair{Before: s, After: after})
		}
	}
	return pairs
}

// Mix returns the statements a run draws from, in profile order: those with
// a positive weight, keeping only the given half of each pair.
func (p *Profile) Mix(v Variant) []*Statement {
	var mix []*Statement
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Weight <= 0 || (s.Variant != "" && s.Variant != v) {
			continue
		}
		mix = append(mix, s)
	}
	return mix
}

// Summary describes a built-in profile in a listing.
type Summary struct {
	// Name is what Load takes.
	Name string `json:"name"`
	// Description is the profile's description.
	Description string `json:"description,omitempty"`
	// Dataset and Scales say what data the profile is written for.
	Dataset string   `json:"dataset,omitempty"`
	Scales  []string `json:"scales,omitempty"`
	// Statements and Indexes count the statements and hand-picked indexes.
	Statements int `json:"statements"`
	Indexes    int `json:"indexes"`
}
