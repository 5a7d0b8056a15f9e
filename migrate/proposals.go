package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

// ReadProposals reads an indexes/v1 JSON document into index specs;
// source names it in errors and in the files' headers.
func ReadProposals(r io.Reader, source string) ([]IndexSpec, error) {
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
	specs := make([]IndexSpec, 0, len(doc.Proposals))
	for i, p := range doc.Proposals {
		s, err := p.Spec(source)
		if err != nil {
			return nil, fmt.Errorf("%w %s: proposal %d: %v", ErrBadProposals, source, i+1, err)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// Spec turns the proposal into an index spec.
func (p Proposal) Spec(source string) (IndexSpec, error) {
	s := IndexSpec{
		Name: p.Name, Columns: p.Columns, Include: p.Include, Where: p.Where,
		Unique: p.Unique, Method: p.Method, Source: source,
	}
	for _, why := range []string{p.Reason, p.Rationale, p.Description} {
		if why != "" {
			s.Comment = why
			break
		}
	}
	if len(s.Columns) == 0 && p.Definition != "" {
		def, err := ParseCreateIndex(p.Definition)
		if err != nil {
			return s, fmt.Errorf("definition: %v", err)
		}
		s.Schema, s.Table, s.Unique, s.Where, s.Include = def.Schema, def.Table, def.Unique, def.Where, def.Include
		if s.Schema == "" {
			s.Schema = p.Schema
		} else if p.Schema != "" && p.Schema != s.Schema {
			return s, fmt.Errorf("schema %q, but the definition's table is in %q", p.Schema, s.Schema)
		}
		if def.Method != "btree" {
			s.Method = def.Method
		}
		for _, k := range def.Keys {
			s.Columns = append(s.Columns, k.String())
		}
		if s.Name == "" {
			s.Name = def.Name
		}
		return s, nil
	}
	if p.Table == "" {
		return s, errors.New("no table")
	}
	toks, err := lex(p.Table)
	if err != nil {
		return s, fmt.Errorf("table %q: %v", p.Table, err)
	}
	pr := &parser{src: p.Table, toks: toks}
	if s.Schema, s.Table, err = pr.name(); err != nil || !pr.done() {
		return s, fmt.Errorf("table %q is not a table name", p.Table)
	}
	switch {
	case p.Schema != "" && s.Schema != "" && p.Schema != s.Schema:
		return s, fmt.Errorf("schema %q, but table %q names another", p.Schema, p.Table)
	case p.Schema != "":
		s.Schema = p.Schema
	case s.Schema == "" && p.Definition != "":
		// An older proposals file: its table left public out, its
		// definition did not.
		if def, err := ParseCreateIndex(p.Definition); err == nil && def.Table == s.Table {
			s.Schema = def.Schema
		}
	}
	if len(s.Columns) == 0 {
		return s, errors.New("no columns")
	}
	for i, c := range s.Columns {
		s.Columns[i] = strings.TrimSpace(c)
	}
	return s, nil
}
