// Package powercut is a test-only file system that forgets what was not
// synced, so tests can pull the plug on the real binary and see what a
// store PC keeps after a power cut.
//
// It is a FUSE passthrough (github.com/hanwen/go-fuse/v2) over a backing
// folder. Every change goes to the backing folder at once, so processes on
// the mount see the usual file system, but the package also keeps the
// durable image: what a disk would still hold after the power went. A
// file's writes and truncations reach the durable image only when that
// file is fsynced (fsync or fdatasync); a directory's entry changes
// (create, mkdir, link, symlink, mknod, unlink, rmdir, rename) only when
// that directory is fsynced — a rename when either of its two directories
// is. Cut throws away everything since (or, with a kept prefix, all but the
// first unsynced changes in the order they were made, as a disk with a
// write cache may), rewrites the backing folder as the durable image and
// mounts it again. The model is Jepsen's LazyFS; see docs/ARCHITECTURE.md
// ("Power cuts") for what the tests built on it prove.
//
// Only tests import this package: it is never in the shipped binary
// (TestNotInBinary checks).
//
// It needs Linux (FUSE); elsewhere the package is only this comment and
// its tests skip saying so.
package powercut
