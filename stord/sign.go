package stord

import (
	"net/http"
	"time"

	"mogfs/nodeproto"
)

// RequireSignatures makes the handler refuse, with 403, a request that
// changes files (PUT, DELETE, MKCOL, MOVE) without a valid write signature
// under secret (nodeproto's signed URLs), and with reads true also GET and
// HEAD without a valid read or write one. An empty secret turns checking
// off, the default. Call it before serving.
//
// Only the HTTP data port is guarded: the side channel (mgmtlisten) answers
// sizes and digests, never file contents, and is meant for the trackers'
// network alone (keep it off networks clients can reach).
func (h *Handler) RequireSignatures(secret []byte, reads bool) {
	h.secret, h.signReads = secret, reads
}

// authorize checks r's signature when signatures are required. It binds
// the path the handler will act on (ParsePath's reading of it, so no
// spelling of a path reaches another file than the one signed) and, for a
// MOVE, the Destination, which needs a write signature of its own.
func (h *Handler) authorize(r *http.Request) error {
	if len(h.secret) == 0 {
		return nil
	}
	perm, ok := nodeproto.MethodPerm(r.Method)
	if !ok {
		return nil // refused as ErrMethod
	}
	if perm == nodeproto.PermRead && (!h.signReads || isRootPath(r.URL.Path)) {
		return nil
	}
	p, err := nodeproto.ParsePath(r.URL.Path)
	if err != nil {
		return err
	}
	// The usage files say only how full a disk is, and mogadm check and
	// monitoring read them without asking a tracker.
	if perm == nodeproto.PermRead && p.Rel == "usage" {
		return nil
	}
	now := time.Now()
	if err := nodeproto.Verify(h.secret, perm, p.String(), r.URL.RawQuery, now); err != nil {
		return err
	}
	if r.Method == "MOVE" {
		return nodeproto.VerifyDestination(h.secret, r.Header.Get("Destination"), now)
	}
	return nil
}
