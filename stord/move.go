package stord

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"

	"mogfs/nodeproto"
)

// move answers WebDAV MOVE (RFC 4918 §9.9), which the Perl client's
// edit_file sends: the file at the request path is renamed to the path of
// the Destination header, on the same device (edit_file moves a replica to
// a new fid on its own device; a rename cannot cross devices, which may be
// separate file systems). The destination's host is not checked: a
// client may reach this node by another address. Overwrite: F refuses an
// existing destination (412); otherwise it is replaced. 201 for a new
// destination, 204 for a replaced one; both directories are fsynced first,
// as a PUT's is.
func (h *Handler) move(w http.ResponseWriter, r *http.Request) error {
	p, root, err := h.target(r, true)
	if err != nil {
		return err
	}
	defer root.Close()
	dest, err := moveDestination(r)
	if err != nil {
		return err
	}
	if dest.Dev != p.Dev {
		return fmt.Errorf("%w: %s is on another device than %s", ErrBadDestination, dest.DevDir, p.DevDir)
	}
	if err := refuseEscape(root, dest.Rel); err != nil {
		return err
	}
	if fi, err := root.Lstat(p.Rel); err != nil {
		return fsErr(err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrNotFound, r.URL.Path)
	}
	existed := true
	if _, err := root.Lstat(dest.Rel); errors.Is(err, fs.ErrNotExist) {
		existed = false
	} else if err != nil {
		return fsErr(err)
	}
	if existed && r.Header.Get("Overwrite") == "F" {
		return fmt.Errorf("%w: %s exists", ErrDestinationExists, dest.Rel)
	}
	if dir := path.Dir(dest.Rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fsErr(err)
		}
	}
	if err := root.Rename(p.Rel, dest.Rel); err != nil {
		return fsErr(err)
	}
	for _, dir := range []string{path.Dir(dest.Rel), path.Dir(p.Rel)} {
		if err := syncDir(root, dir); err != nil {
			return fsErr(err)
		}
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeHTML(w, http.StatusCreated, "Created")
	return nil
}

// moveDestination parses a MOVE's Destination header: an absolute URL or
// an absolute path, naming a file on some device.
func moveDestination(r *http.Request) (nodeproto.Path, error) {
	h := r.Header.Get("Destination")
	if h == "" {
		return nodeproto.Path{}, fmt.Errorf("%w: no Destination header", ErrBadDestination)
	}
	u, err := url.Parse(h)
	if err != nil {
		return nodeproto.Path{}, fmt.Errorf("%w: %v", ErrBadDestination, err)
	}
	p, err := nodeproto.ParsePath(u.Path)
	if err != nil {
		return nodeproto.Path{}, fmt.Errorf("%w: %w", ErrBadDestination, err)
	}
	if p.Rel == "" || p.Dir {
		return nodeproto.Path{}, fmt.Errorf("%w: %s names a directory", ErrBadDestination, h)
	}
	return p, nil
}
