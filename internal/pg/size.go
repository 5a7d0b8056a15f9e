package pg

import "strconv"

// Size writes a size in bytes short, in the units pg_size_pretty uses:
// 512 B, 820 kB, 12.4 MB, 1.2 GB. One writer for every size the tool
// prints (indexes, tables, WAL a standby has still to replay), so the
// same amount reads the same in a table, an error and a progress line.
func Size(v int64) string {
	f := float64(v)
	switch {
	case f >= 1<<30:
		return strconv.FormatFloat(f/(1<<30), 'f', 1, 64) + " GB"
	case f >= 1<<20:
		return strconv.FormatFloat(f/(1<<20), 'f', 1, 64) + " MB"
	case f >= 1<<10:
		return strconv.FormatFloat(f/(1<<10), 'f', 0, 64) + " kB"
	}
	return strconv.FormatInt(v, 10) + " B"
}
