//go:build !linux

package faults

import "errors"

// errNoTmpfs: the disk-full fault mounts a tmpfs the Linux way; elsewhere
// it is skipped, as on a Linux machine that does not allow the mount.
var errNoTmpfs = errors.New("tmpfs mounts are made the Linux way, and this is not Linux")

func mountTmpfs(string, string) error { return errNoTmpfs }

func unmountTmpfs(string) error { return errNoTmpfs }
