package dataset

// NumericCopy returns a binary COPY stream of two numeric columns: each v as
// v/10^4, and v%10^7 as a numeric with two decimals. The external tests send
// it to a server to check the encoding against PostgreSQL's own reading.
func NumericCopy(vals []int64) []byte {
	b := append([]byte{}, copyHeader...)
	for _, v := range vals {
		b = appendRowStart(b, 2)
		b = appendNumeric(b, v, 4)
		b = appendNumeric(b, v%10_000_000, 2)
	}
	return append(b, copyTrailer...)
}

// LoadOnConnections makes loads of any size use n connections until the
// test ends.
func LoadOnConnections(t interface{ Cleanup(func()) }, n int) {
	oldMin, oldN := parallelMinRows, loadConnections
	parallelMinRows, loadConnections = 0, n
	t.Cleanup(func() { parallelMinRows, loadConnections = oldMin, oldN })
}
