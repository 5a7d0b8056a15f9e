package migrate

import "github.com/hishamos/hishamos-perf/internal/indexdef"

// MaxIdentifierLength is indexdef.MaxIdentifierLength, the longest name
// PostgreSQL keeps.
//
// Deprecated: use indexdef's; indexes still names it here until it takes
// its names from indexdef (issue 15).
const MaxIdentifierLength = indexdef.MaxIdentifierLength

// DjangoMaxIndexName is the longest index name Django accepts (its system
// check models.E034).
const DjangoMaxIndexName = 30

// ShortenName is indexdef.ShortenName.
//
// Deprecated: use indexdef's; see MaxIdentifierLength.
func ShortenName(name string, max int) string { return indexdef.ShortenName(name, max) }

// NamePart is indexdef.NamePart.
//
// Deprecated: use indexdef's; see MaxIdentifierLength.
func NamePart(s string) string { return indexdef.NamePart(s) }
