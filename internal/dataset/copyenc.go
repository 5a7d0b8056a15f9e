package dataset

import (
	"encoding/binary"
	"math"
	"strconv"
)

// This file writes PostgreSQL's binary COPY format by hand: a row is an
// int16 field count, then per field an int32 byte length (-1 for NULL) and
// the value in the type's binary send format. Writing it directly, instead
// of going through pgx's per-value encoders, keeps row generation cheap
// enough that the server, not the client, sets the pace of a load.

// copyHeader starts every binary COPY stream: the signature, an int32 flags
// field and an int32 header-extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer ends a binary COPY stream: a field count of -1.
var copyTrailer = []byte{0xff, 0xff}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch, in
// microseconds since the Unix epoch.
const pgEpochMicros = 946684800 * 1_000_000

// jsonbVersion is the only jsonb binary format version; the value after it
// is the JSON text.
const jsonbVersion = 1

func appendRowStart(b []byte, fields int) []byte {
	return binary.BigEndian.AppendUint16(b, uint16(fields))
}

func appendNull(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, math.MaxUint32)
}

func appendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func appendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// appendNullableInt8 writes v, or NULL when v is zero (ids start at 1).
func appendNullableInt8(b []byte, v int64) []byte {
	if v == 0 {
		return appendNull(b)
	}
	return appendInt8(b, v)
}

func appendBool(b []byte, v bool) []byte {
	b = binary.BigEndian.AppendUint32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendFloat8(b []byte, v float64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// appendText writes a text or varchar value; the caller keeps it valid UTF-8.
func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendTimestamptz writes t, in microseconds since the Unix epoch.
func appendTimestamptz(b []byte, unixMicros int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(unixMicros-pgEpochMicros))
}

// appendNullableTimestamptz writes t, or NULL when t is noTime.
func appendNullableTimestamptz(b []byte, unixMicros int64) []byte {
	if unixMicros == noTime {
		return appendNull(b)
	}
	return appendTimestamptz(b, unixMicros)
}

// noTime marks a NULL timestamp in generated rows.
const noTime = math.MinInt64

// beginVarField reserves a field's length word and returns where it is, for
// endVarField to fill in once the value is written.
func beginVarField(b []byte) ([]byte, int) {
	at := len(b)
	return append(b, 0, 0, 0, 0), at
}

func endVarField(b []byte, at int) []byte {
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// beginJSONB starts a jsonb field; the caller appends the JSON text and
// closes it with endVarField.
func beginJSONB(b []byte) ([]byte, int) {
	b, at := beginVarField(b)
	return append(b, jsonbVersion), at
}

// appendJSONB writes a jsonb value from ready-made JSON text.
func appendJSONB(b []byte, json string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(json)+1))
	b = append(b, jsonbVersion)
	return append(b, json...)
}

// numericPositive and numericNegative are the sign words of numeric's binary
// format.
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
)

// appendNumeric writes the fixed-point number v / 10^dscale as a numeric in
// binary form: base-10000 digits, most significant first, with weight the
// power of 10000 of the first digit. dscale must be 0, 2 or 4, so that the
// fraction fits in one base-10000 digit.
func appendNumeric(b []byte, v int64, dscale int) []byte {
	var pow int64
	switch dscale {
	case 0:
		pow = 1
	case 2:
		pow = 100
	case 4:
		pow = 10000
	default:
		panic("dataset: numeric scale " + strconv.Itoa(dscale) + " not supported")
	}
	sign := uint16(numericPositive)
	if v < 0 {
		sign = numericNegative
		v = -v
	}
	intPart, frac := v/pow, (v%pow)*(10000/pow)

	// Integer part in base 10000, least significant group first.
	var groups [5]uint16
	n := 0
	for x := intPart; x > 0; x /= 10000 {
		groups[n] = uint16(x % 10000)
		n++
	}
	var digits [6]uint16
	nd := 0
	for i := n - 1; i >= 0; i-- {
		digits[nd] = groups[i]
		nd++
	}
	weight := n - 1
	if frac != 0 {
		if n == 0 {
			weight = -1
		}
		digits[nd] = uint16(frac)
		nd++
	}
	// Trailing zero digits carry nothing; PostgreSQL stores them stripped.
	for nd > 0 && digits[nd-1] == 0 {
		nd--
	}
	if nd == 0 {
		weight, sign = 0, numericPositive
	}
	b = binary.BigEndian.AppendUint32(b, uint32(8+2*nd))
	b = binary.BigEndian.AppendUint16(b, uint16(nd))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, d := range digits[:nd] {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}
