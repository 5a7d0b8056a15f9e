package indexes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// ErrBadProposals is returned for a proposals file that cannot be read.
var ErrBadProposals = errors.New("bad proposals file")

// proposalsFile is what ReadProposals reads of a proposals file: the
// schema id and the proposals, with the fields older files and other tools
// wrote (a proposal's index as column text, its reason as rationale or
// description). Every other field is ignored, so a file stays readable as
// Result grows.
type proposalsFile struct {
	Schema    string         `json:"schema"`
	Proposals []fileProposal `json:"proposals"`
}

// fileProposal is one proposal as a file holds it.
type fileProposal struct {
	Proposal
	// Unique and Method are what a hand-written file may add.
	Unique bool   `json:"unique,omitempty"`
	Method string `json:"method,omitempty"`
	// Rationale and Description say why, when Reason does not.
	Rationale   string `json:"rationale,omitempty"`
	Description string `json:"description,omitempty"`
}

// ReadProposals reads a proposals file (the JSON `indexes propose` writes,
// schema Schema), source naming it in errors. Every proposal it returns
// carries its Index, the comment a migration file is headed with set from
// its reason: a file written since issue 15 gives it as such (and it is
// what counts, whatever the text fields say); an older one is read once
// by internal/sqlscan, from its definition when it has no columns, else
// from its table, columns, INCLUDE and predicate, its schema taken from
// the definition when the table leaves it out. Unknown fields are ignored.
func ReadProposals(r io.Reader, source string) (*Result, error) {
	var doc proposalsFile
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrBadProposals, source, err)
	}
	if doc.Schema != "" && doc.Schema != Schema {
		return nil, fmt.Errorf("%w %s: schema %q, want %q", ErrBadProposals, source, doc.Schema, Schema)
	}
	if len(doc.Proposals) == 0 {
		return nil, fmt.Errorf("%w %s: no proposals", ErrBadProposals, source)
	}
	res := &Result{Schema: Schema, Proposals: make([]Proposal, 0, len(doc.Proposals))}
	for i, fp := range doc.Proposals {
		p := fp.Proposal
		d, err := fp.index()
		if err != nil {
			return nil, fmt.Errorf("%w %s: proposal %d: %v", ErrBadProposals, source, i+1, err)
		}
		for _, why := range []string{fp.Reason, fp.Rationale, fp.Description} {
			if why != "" {
				d.Comment = why
				break
			}
		}
		p.Index = d
		res.Proposals = append(res.Proposals, p)
	}
	return res, nil
}

// Defs are the proposals' indexes, for plan.
func (r *Result) Defs() []indexdef.Def {
	out := make([]indexdef.Def, len(r.Proposals))
	for i, p := range r.Proposals {
		out[i] = p.Index
	}
	return out
}

// index is the proposal's index: as the file gives it, or read from an
// older file's text.
func (p *fileProposal) index() (indexdef.Def, error) {
	if p.Index.Table != "" {
		return p.Index, nil
	}
	d := indexdef.Def{Name: p.Name, Where: strings.TrimSpace(p.Where), Unique: p.Unique, Method: strings.ToLower(p.Method)}
	if len(p.Columns) == 0 && p.Definition != "" {
		st, err := sqlscan.ParseOne(p.Definition)
		if err == nil && st.Index == nil {
			err = fmt.Errorf("%s, not CREATE INDEX", st.Kind)
		}
		if err != nil {
			return d, fmt.Errorf("definition: %v", err)
		}
		def := *st.Index
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
		// A file from before proposals said their schema: its table left
		// public out, its definition did not.
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
