//go:build !cgo

package sqlscan

import pg_query "github.com/pganalyze/pg_query_go/v6"

// Stand-ins for parser_cgo.go in a build without cgo: each returns
// ErrNoParser.

// RawScan would be pg_query.Scan: ErrNoParser without cgo.
func RawScan(string) (*pg_query.ScanResult, error) { return nil, ErrNoParser }

// ParseTree would be pg_query.Parse: ErrNoParser without cgo.
func ParseTree(string) (*pg_query.ParseResult, error) { return nil, ErrNoParser }

// Fingerprint would be pg_query.Fingerprint: ErrNoParser without cgo.
func Fingerprint(string) (string, error) { return "", ErrNoParser }
