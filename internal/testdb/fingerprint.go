package testdb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TableSum is one table's row count and a checksum of its rows.
type TableSum struct {
	Rows int64
	Sum  string
}

// SequenceState is a sequence's position: its last value and whether
// nextval has been called since it was set.
type SequenceState struct {
	LastValue int64
	IsCalled  bool
}

// Fingerprint is what a command that promises to change nothing must leave
// as it found it: every user table's rows, every sequence's position and
// the large objects. Tests take one before and one after and compare them
// with Diff.
type Fingerprint struct {
	Tables       map[string]TableSum
	Sequences    map[string]SequenceState
	LargeObjects int64
}

// TakeFingerprint reads the database dsn names: every table outside the
// system schemas (its row count and an md5 of its rows in a fixed order),
// every sequence's last_value and is_called, and the number of large
// objects. It reads each table whole: keep test data small.
func TakeFingerprint(t testing.TB, dsn string) Fingerprint {
	t.Helper()
	ctx := context.Background()
	conn := Conn(t, dsn)
	f := Fingerprint{Tables: map[string]TableSum{}, Sequences: map[string]SequenceState{}}
	type rel struct{ schema, name string }
	list := func(kinds string) []rel {
		rows, err := conn.Query(ctx, `SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = ANY($1::"char"[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
			AND n.nspname NOT LIKE 'pg\_temp\_%' ORDER BY 1, 2`, kinds)
		if err != nil {
			t.Fatalf("testdb: fingerprint: list relations: %v", err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
			var x rel
			return x, r.Scan(&x.schema, &x.name)
		})
		if err != nil {
			t.Fatalf("testdb: fingerprint: list relations: %v", err)
		}
		return out
	}
	for _, r := range list("{r,m}") {
		id := pgx.Identifier{r.schema, r.name}.Sanitize()
		var ts TableSum
		q := "SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM " + id + " t"
		if err := conn.QueryRow(ctx, q).Scan(&ts.Rows, &ts.Sum); err != nil {
			t.Fatalf("testdb: fingerprint: checksum %s: %v", id, err)
		}
		f.Tables[id] = ts
	}
	for _, r := range list("{S}") {
		id := pgx.Identifier{r.schema, r.name}.Sanitize()
		var s SequenceState
		if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+id).Scan(&s.LastValue, &s.IsCalled); err != nil {
			t.Fatalf("testdb: fingerprint: sequence %s: %v", id, err)
		}
		f.Sequences[id] = s
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_largeobject_metadata").Scan(&f.LargeObjects); err != nil {
		t.Fatalf("testdb: fingerprint: large objects: %v", err)
	}
	return f
}

// Diff lists what changed from f to after, one line per change; empty
// when nothing did.
func (f Fingerprint) Diff(after Fingerprint) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(f.Tables)) {
		b := f.Tables[name]
		a, ok := after.Tables[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("table %s is gone (%d rows before)", name, b.Rows))
		case a.Rows != b.Rows:
			out = append(out, fmt.Sprintf("table %s holds %d rows, %d before", name, a.Rows, b.Rows))
		case a.Sum != b.Sum:
			out = append(out, fmt.Sprintf("table %s: same %d rows, different contents", name, a.Rows))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(after.Tables)) {
		if _, ok := f.Tables[name]; !ok {
			out = append(out, fmt.Sprintf("table %s appeared (%d rows)", name, after.Tables[name].Rows))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.Sequences)) {
		b := f.Sequences[name]
		if a, ok := after.Sequences[name]; !ok {
			out = append(out, fmt.Sprintf("sequence %s is gone", name))
		} else if a != b {
			out = append(out, fmt.Sprintf("sequence %s moved from %d (called %t) to %d (called %t)", name, b.LastValue, b.IsCalled, a.LastValue, a.IsCalled))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(after.Sequences)) {
		if _, ok := f.Sequences[name]; !ok {
			out = append(out, fmt.Sprintf("sequence %s appeared", name))
		}
	}
	if f.LargeObjects != after.LargeObjects {
		out = append(out, fmt.Sprintf("%d large objects, %d before", after.LargeObjects, f.LargeObjects))
	}
	return out
}

// RowsLost is how many rows the tables of f lost or gained by after, for
// a reliability line: the sum of the row count differences, a table gone
// counting all its rows.
func (f Fingerprint) RowsLost(after Fingerprint) int64 {
	var n int64
	for name, b := range f.Tables {
		a := after.Tables[name]
		d := a.Rows - b.Rows
		if d < 0 {
			d = -d
		}
		n += d
	}
	return n
}
