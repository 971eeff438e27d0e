// Package cache is the mount's block cache: fixed-size blocks of stored
// files, keyed by (fid, block number).
//
// A MogileFS fid's bytes never change — a rewrite of a key makes a new fid —
// so nothing is ever invalidated: a changed file is simply read under its new
// fid and the old blocks age out. ristretto is an implementation detail. Its
// Set may drop an entry (admission policy, full buffers), so the cache is only
// a hint: callers must always be able to load a block themselves, and tests
// call Wait before they expect a block to be present.
//
// Fetch adds a singleflight on top, so concurrent readers of one block (for
// example readahead racing the reader it works for) load it once.
//
// Block bytes live off the Go heap, in an arena mapped once (arena.go): the
// collector neither scans nor paces on them, so a full cache costs its
// budget in resident memory and nothing in GC work. Blocks are therefore
// counted references (Block.Release): the cache holds one while it keeps a
// block, each reader one while it copies from it, and a slot is reused only
// when the last is released.
package cache
