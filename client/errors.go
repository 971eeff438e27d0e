package client

import "errors"

// ErrNoTrackers is returned when no tracker could be reached: every address in
// Config.Trackers refused the connection, timed out or broke the connection.
// The request may be retried later; the cluster itself may be fine.
var ErrNoTrackers = errors.New("client: no tracker reachable")

// ErrNoPaths is returned by Fetch when every path the tracker gave failed (or
// it gave none), and by the store methods when every destination of
// create_open refused the upload. The wrapped error says what the last attempt
// saw.
var ErrNoPaths = errors.New("client: no working path")

// ErrNodeTimeout is returned, wrapped with the method and URL, when a
// storage node stopped moving bytes for Config.Timeout during a transfer
// (connecting, sending, awaiting its answer or sending a body): it is hung,
// overloaded or cut off from us. Fetch and the store methods try the next
// path or destination first, so the caller sees it only when all of them
// failed, wrapped in ErrNoPaths; a later retry may find the node back.
var ErrNodeTimeout = errors.New("client: storage node timed out")

// ErrClosed is returned by requests made after Close.
var ErrClosed = errors.New("client: closed")

// ErrBadReply is returned when a tracker's OK reply lacks a field the command
// must return (for example create_open without fid). It points at a tracker
// bug or a non-MogileFS server, not at the request.
var ErrBadReply = errors.New("client: malformed tracker reply")
