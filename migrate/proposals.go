package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// ProposalsSchema is the schema id of the JSON `indexes propose` writes.
const ProposalsSchema = "hishamos-perf/indexes/v1"

// ErrBadProposals is returned for a proposals file that cannot be read.
var ErrBadProposals = errors.New("bad proposals file")

// Proposals is the part of indexes propose's JSON that plan reads. Fields
// it does not know are ignored, so the proposer can add to its output
// without breaking plan.
type Proposals struct {
	Schema    string     `json:"schema"`
	Proposals []Proposal `json:"proposals"`
}

// Proposal is one proposed index, as far as plan needs it.
type Proposal struct {
	// Name is the proposed index name; empty means the stable name.
	Name string `json:"name,omitempty"`
	// Schema is the table's schema. indexes propose writes it since
	// proposals files had a table without its schema outside public; for
	// such an older file the schema is read from Definition.
	Schema string `json:"schema,omitempty"`
	// Table may be schema-qualified ("public.agents_agent").
	Table string `json:"table"`
	// Columns are key elements, each possibly with a direction
	// ("created_at DESC") or an expression.
	Columns []string `json:"columns"`
	Include []string `json:"include,omitempty"`
	Where   string   `json:"where,omitempty"`
	Unique  bool     `json:"unique,omitempty"`
	Method  string   `json:"method,omitempty"`
	// Definition is the CREATE INDEX statement; plan reads it only when
	// Columns is empty.
	Definition string `json:"definition,omitempty"`
	// Reason, Rationale and Description say why; the first one set heads
	// the migration file.
	Reason      string `json:"reason,omitempty"`
	Rationale   string `json:"rationale,omitempty"`
	Description string `json:"description,omitempty"`
}

// ReadProposals reads an indexes/v1 JSON document into index definitions;
// source names it in errors.
func ReadProposals(r io.Reader, source string) ([]indexdef.Def, error) {
	var doc Proposals
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrBadProposals, source, err)
	}
	if doc.Schema != "" && doc.Schema != ProposalsSchema {
		return nil, fmt.Errorf("%w %s: schema %q, want %q", ErrBadProposals, source, doc.Schema, ProposalsSchema)
	}
	if len(doc.Proposals) == 0 {
		return nil, fmt.Errorf("%w %s: no proposals", ErrBadProposals, source)
	}
	defs := make([]indexdef.Def, 0, len(doc.Proposals))
	for i, p := range doc.Proposals {
		d, err := p.Def()
		if err != nil {
			return nil, fmt.Errorf("%w %s: proposal %d: %v", ErrBadProposals, source, i+1, err)
		}
		defs = append(defs, d)
	}
	return defs, nil
}

// Def turns the proposal into an index definition: its columns, table and
// INCLUDE read by internal/sqlscan, or its definition when it has no
// columns.
func (p Proposal) Def() (indexdef.Def, error) {
	d := indexdef.Def{Name: p.Name, Where: strings.TrimSpace(p.Where), Unique: p.Unique, Method: strings.ToLower(p.Method)}
	for _, why := range []string{p.Reason, p.Rationale, p.Description} {
		if why != "" {
			d.Comment = why
			break
		}
	}
	if len(p.Columns) == 0 && p.Definition != "" {
		st, err := sqlscan.ParseOne(p.Definition)
		if err != nil || st.Index == nil {
			return d, fmt.Errorf("definition: %v", definitionError(st, err))
		}
		def := *st.Index
		def.Comment = d.Comment
		if def.Schema == "" {
			def.Schema = p.Schema
		} else if p.Schema != "" && p.Schema != def.Schema {
			return d, fmt.Errorf("schema %q, but the definition's table is in %q", p.Schema, def.Schema)
		}
		if p.Name != "" {
			def.Name = p.Name
		}
		return def, nil
	}
	if p.Table == "" {
		return d, errors.New("no table")
	}
	table, err := sqlscan.ParseName(p.Table)
	if err != nil {
		return d, fmt.Errorf("table %q is not a table name", p.Table)
	}
	d.Schema, d.Table = table.Schema, table.Name
	switch {
	case p.Schema != "" && d.Schema != "" && p.Schema != d.Schema:
		return d, fmt.Errorf("schema %q, but table %q names another", p.Schema, p.Table)
	case p.Schema != "":
		d.Schema = p.Schema
	case d.Schema == "" && p.Definition != "":
		// An older proposals file: its table left public out, its
		// definition did not.
		if st, err := sqlscan.ParseOne(p.Definition); err == nil && st.Index != nil && st.Index.Table == d.Table {
			d.Schema = st.Index.Schema
		}
	}
	if len(p.Columns) == 0 {
		return d, errors.New("no columns")
	}
	for _, c := range p.Columns {
		k, err := sqlscan.ParseKey(c)
		if err != nil {
			return d, fmt.Errorf("column %q: %v", c, err)
		}
		d.Keys = append(d.Keys, k)
	}
	for _, c := range p.Include {
		n, err := sqlscan.ParseName(c)
		if err != nil || n.Schema != "" {
			return d, fmt.Errorf("INCLUDE column %q is not a column name", c)
		}
		d.Include = append(d.Include, n.Name)
	}
	return d, nil
}

// definitionError says why a proposal's definition is no CREATE INDEX.
func definitionError(st sqlscan.Parsed, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s, not CREATE INDEX", st.Kind)
}
