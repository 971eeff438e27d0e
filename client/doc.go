// Package client is the Go MogileFS client library: it speaks the tracker
// protocol (package protocol) to one of several trackers and moves file
// bodies to and from storage nodes over HTTP.
//
// The model is the original Perl MogileFS::Client's. A tracker request is one
// line on a pooled TCP connection; when a tracker cannot be reached (or its
// connection breaks) the request goes to the next tracker in Config.Trackers,
// and an unreachable tracker is skipped for a few seconds. A tracker's ERR
// reply is returned as a *protocol.Error and never fails over: another tracker
// on the same database would say the same.
//
// Uploads are create_open (which offers up to three destinations), an HTTP
// PUT with Content-Length to the first destination that accepts it, then
// create_close naming the destination actually written. Downloads ask
// get_paths and GET the first path that works, resuming at the same offset on
// the next path when a transfer breaks part way.
//
// The mogfs extension commands (mogfs_list, mogfs_getattr, ...; see
// ext.go) and the admin commands used by mogadm (admin.go) are methods of the
// same *Client.
package client
