// Command hishamos-perf finds what a PostgreSQL workload costs, proposes the
// indexes it needs, builds them safely and measures the difference.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
