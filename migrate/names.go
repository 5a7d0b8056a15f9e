package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxIdentifierLength is the longest name PostgreSQL keeps (NAMEDATALEN-1);
// a longer one is silently truncated, so two long names could collide.
const MaxIdentifierLength = 63

// DjangoMaxIndexName is the longest index name Django accepts (its system
// check models.E034).
const DjangoMaxIndexName = 30

// nameHashLength is how many hex digits of a name's SHA-256 stand in for the
// part cut off: 8 digits keep collisions between cut names negligible.
const nameHashLength = 8

// IndexName is the stable name of an index: <table>_<col1>_<col2>_idx, with
// directions and operator classes left out and anything but letters, digits
// and '_' turned into '_'. A name longer than PostgreSQL keeps is cut to 63
// bytes, ending in a short hash of the whole name so it stays unique.
func IndexName(table string, columns []string) string {
	parts := []string{NamePart(table)}
	for _, c := range columns {
		if k, err := parseColumnSpec(c); err == nil {
			if k.Column != "" {
				parts = append(parts, NamePart(k.Column))
			} else {
				parts = append(parts, NamePart(k.Expr))
			}
			continue
		}
		parts = append(parts, NamePart(c))
	}
	return ShortenName(strings.Join(parts, "_")+"_idx", MaxIdentifierLength)
}

// ShortenName cuts name to max bytes, replacing what it cuts with a short
// hash of the whole name and keeping the _idx suffix. A name that fits is
// returned as it is.
func ShortenName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])[:nameHashLength]
	suffix := "_" + h + "_idx"
	keep := max - len(suffix)
	if keep < 1 {
		return h[:max]
	}
	prefix := strings.TrimSuffix(name, "_idx")
	if len(prefix) > keep {
		prefix = prefix[:keep]
	}
	return strings.TrimRight(prefix, "_") + suffix
}

// NamePart is s as a part of an index name: lowercased, with each run of
// anything but ASCII letters and digits turned into a single '_'.
func NamePart(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}
