package indexes_test

import (
	"errors"
	"os"
	"testing"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/indexes"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

func FuzzParseSQL(f *testing.F) {
	for _, p := range []string{"testdata/small.sql", "../testdata/hishamos/schema.sql", "../profiles/testdata/fixture.sql"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data[:min(len(data), maxFuzzInput)]))
	}
	for _, s := range []string{
		`SELECT * FROM "Order Items" WHERE "Customer Id" = 1 ORDER BY "Placed;At" DESC LIMIT 10`,
		`SELECT a FROM t WHERE b = $1 AND c > $2; SELECT a FROM t WHERE b = 7 AND c > 8`,
		`UPDATE s.t SET x = 1 WHERE id = 3; DELETE FROM "we""ird;tbl" WHERE "K" IN (1,2)`,
		`SELECT FROM WHERE;`,
		`WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x WHERE id = 1`,
		`SELECT * FROM t1 JOIN t2 USING (id) WHERE t1.a = 1 AND t2.b BETWEEN 2 AND 3`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > maxFuzzInput {
			t.Skip()
		}
		w, err := indexes.ParseSQL("w.sql", text)
		srcs, splitErr := analyze.SplitSQL("w.sql", text)
		if (err == nil) != (splitErr == nil) {
			t.Fatalf("ParseSQL error %v, SplitSQL error %v", err, splitErr)
		}
		if err != nil {
			if !errors.Is(err, indexes.ErrBadWorkload) {
				t.Fatalf("error does not wrap ErrBadWorkload: %v", err)
			}
			return
		}
		// Every statement is either kept (statements with one fingerprint
		// add up their weights) or skipped with a reason.
		total := len(w.Skipped)
		for _, s := range w.Statements {
			if s.Fingerprint == "" || s.Weight < 1 {
				t.Fatalf("kept statement without fingerprint or weight: %+v", s)
			}
			total += int(s.Weight)
		}
		for _, s := range w.Skipped {
			if s.Reason == "" {
				t.Fatalf("skipped statement without a reason: %+v", s)
			}
		}
		if total != len(srcs) {
			t.Fatalf("%d statements split, %d kept or skipped", len(srcs), total)
		}
	})
}
