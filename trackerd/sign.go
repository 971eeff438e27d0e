package trackerd

import (
	"strings"

	"mogfs/nodeproto"
)

// Signed storage URLs (--storage_secret): the replies that hand a client
// storage URLs are signed here, in one place, after the command has run.
// The tracker's own requests to nodes (create_close's HEAD, MKCOL, the
// monitor, replication, deletes, fsck) are signed by the HTTP clients that
// send them (nodeproto.Signer.Client), and create_close compares the path
// it gets back without its signature.

// signedURLs lists, per command, the reply keys that hold storage URLs and
// what their signature permits.
var signedURLs = map[string]struct {
	perm  nodeproto.Perm
	isURL func(key string) bool
}{
	// The client PUTs (also in ranges, as NewHTTPFile's fallback does).
	"create_open": {nodeproto.PermWrite, func(k string) bool { return k == "path" || strings.HasPrefix(k, "path_") }},
	// The client MOVEs oldpath to newpath, then HEADs, reads and PUTs
	// ranges of newpath (MogileFS::Client::edit_file).
	"edit_file": {nodeproto.PermWrite, func(k string) bool { return k == "oldpath" || k == "newpath" }},
	// Readers: path1..pathN ("paths" is the count).
	"get_paths": {nodeproto.PermRead, func(k string) bool { return k != "paths" && strings.HasPrefix(k, "path") }},
	// For an operator to fetch a replica with curl.
	"file_debug": {nodeproto.PermRead, func(k string) bool { return strings.HasPrefix(k, "devpath_") }},
}

// signReplies wraps the commands of signedURLs in cmds so that their
// replies carry signed URLs, fresh on every reply: nothing signed is ever
// cached (get_paths' cache holds devices, not URLs). A nil s leaves cmds
// as they are.
func signReplies(cmds map[string]handler, s *nodeproto.Signer) {
	if s == nil {
		return
	}
	for name, sc := range signedURLs {
		h, ok := cmds[name]
		if !ok {
			continue
		}
		cmds[name] = func(r *request) (reply, error) {
			out, err := h(r)
			for k, v := range out {
				if sc.isURL(k) {
					out[k] = s.URL(v, sc.perm)
				}
			}
			return out, err
		}
	}
}
