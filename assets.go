// Package hishamosperf holds the files the tool ships inside its binary. It
// sits at the module root because go:embed cannot reach a testdata directory
// from inside another package.
package hishamosperf

import _ "embed"

// HishamOSSchema is the DDL of the HishamOS tables (testdata/hishamos/schema.sql):
// the Django-generated tables with their primary keys, foreign keys and
// Django's own indexes, and none of the seed report's performance indexes.
//
//go:embed testdata/hishamos/schema.sql
var HishamOSSchema string
