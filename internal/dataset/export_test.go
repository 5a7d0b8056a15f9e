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

// LoadOnTwoConnections makes loads of any size use two connections until
// the test ends.
func LoadOnTwoConnections(t interface{ Cleanup(func()) }) {
	old := parallelMinRows
	parallelMinRows = 0
	t.Cleanup(func() { parallelMinRows = old })
}
