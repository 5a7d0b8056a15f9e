package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layoutSeeds are migration directories written as layouts (see
// writeLayout): what plan writes, and what hands and accidents make of it.
var layoutSeeds = []string{
	// As plan writes it, sums left for the fuzzer's hash flag.
	"== 20250101000000_a.sql\n-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"a_idx\" ON \"public\".\"t\" (\"a\");\n" +
		"== down/20250101000000_a.sql\n-- atlas:txmode none\n\nDROP INDEX CONCURRENTLY IF EXISTS \"public\".\"a_idx\";\n",
	// Two files, one version.
	"== 20250101000000_a.sql\nCREATE INDEX CONCURRENTLY a ON public.t (a);\n== 20250101000000_b.sql\nCREATE INDEX CONCURRENTLY b ON public.t (b);\n",
	// A directive with no blank line after it, and one with.
	"== 1_x.sql\n-- atlas:txmode none\nCREATE INDEX CONCURRENTLY x ON public.t (x);\n== 2_y.sql\n# atlas:txmode none\n\nDROP TABLE victim;\n",
	// Versions equal as numbers, not as text; a file with no name part.
	"== 01_a.sql\nSELECT 1;\n== 1_a.sql\nSELECT 2;\n== 2.sql\n-- atlas:sum ignore\n",
	// A sum written by hand, and a down file with no up file.
	"== atlas.sum\nh1:AAAA\n20250101000000_a.sql h1:BBBB\n== 20250101000000_a.sql\nCREATE INDEX ON ONLY public.p (a);\n== down/20250101000001_z.sql\nDROP INDEX public.z;\n== down/atlas.sum\nnot a sum\n",
	// Statements that do not parse, or are not what they seem.
	"== 3_q.sql\nCREATE INDEX CONCURRENTLY q ON public.t ((a;\n== 4_r.sql\n/* CREATE INDEX */ DO $$ BEGIN END $$;\nCOMMENT ON INDEX i IS 'x';\nALTER INDEX public.p ATTACH PARTITION c;\n",
	"== 5_empty.sql\n\n== 6_comment.sql\n-- atlas:txmode none\n",
}

// writeLayout writes a layout into dir: sections, each a line "== <name>"
// followed by the file's text. Names are kept to the directory's shape
// (a file at the top, or in down/); others are skipped.
func writeLayout(t *testing.T, dir, layout string) {
	t.Helper()
	for _, sec := range strings.Split("\n"+layout, "\n== ")[1:] {
		name, text, _ := strings.Cut(sec, "\n")
		name = strings.TrimSpace(name)
		parts := strings.Split(name, "/")
		if name == "" || len(name) > 100 || strings.ContainsRune(name, 0) || len(parts) > 2 ||
			(len(parts) == 2 && parts[0] != DownDir) || parts[len(parts)-1] == "" ||
			strings.HasPrefix(parts[len(parts)-1], ".") {
			continue
		}
		if len(parts) == 2 {
			os.MkdirAll(filepath.Join(dir, DownDir), 0o755)
		}
		os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(text), 0o644)
	}
}

// FuzzDirLayout builds a migration directory from a layout and calls all
// that needs no server on it: OpenDir, Hash, Validate, Migrations, Lint
// without a connection, status's reading of the directory, and apply's
// check of every statement. None may panic (two files with one version
// made apply panic once), and a directory that reads has one file per
// version.
func FuzzDirLayout(f *testing.F) {
	for _, s := range layoutSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, layout string, hash bool) {
		if len(layout) > maxFuzzInput {
			t.Skip()
		}
		dir := t.TempDir()
		writeLayout(t, dir, layout)
		d, err := OpenDir(dir)
		if err != nil {
			return
		}
		hashed := false
		if hash {
			_, err := d.Hash()
			hashed = err == nil
		}
		validErr := d.Validate()
		migs, err := d.Migrations()
		if err == nil {
			seen := map[string]string{}
			for _, m := range migs {
				if other, ok := seen[m.Version]; ok {
					t.Fatalf("%s and %s share version %s, and Migrations took them", other, m.File, m.Version)
				}
				seen[m.Version] = m.File
				for _, s := range append(append([]Statement(nil), m.Statements...), m.Down...) {
					checkStatement(m.File, s, false)
					checkStatement(m.File, s, true)
				}
			}
			if se, ok := validErr.(*SumError); ok && hashed {
				t.Fatalf("Validate right after Hash: %v (%+v)", validErr, se)
			}
		}
		Lint(context.Background(), nil, d, LintOptions{})
		statusDir(d)
	})
}
