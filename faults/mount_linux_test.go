package faults

import "syscall"

// mountTmpfs mounts a tmpfs with opts at dir (root and CAP_SYS_ADMIN).
func mountTmpfs(dir, opts string) error { return syscall.Mount("tmpfs", dir, "tmpfs", 0, opts) }

// unmountTmpfs detaches the mount at dir.
func unmountTmpfs(dir string) error { return syscall.Unmount(dir, syscall.MNT_DETACH) }
