package stord

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mogfs/metrics"
	"mogfs/nodeproto"
)

// Handler is the HTTP data port: GET/HEAD/PUT/DELETE/MKCOL on files under
// docroot/devN, each device directory confined with os.Root. It is used as
// the http.Server's handler directly, without a ServeMux, so that
// "//dev1/usage" is answered instead of redirected.
type Handler struct {
	docRoot string
	log     *slog.Logger
	// inflight counts running requests so that shutdown can wait for PUT
	// handlers to remove their temp files after connections are closed.
	inflight sync.WaitGroup
	// metrics is nil unless SetMetrics was called; its methods accept nil.
	metrics *metrics.Stord
	// secret and signReads are set by RequireSignatures before serving
	// and only read afterwards (sign.go).
	secret    []byte
	signReads bool
}

// NewHandler returns the data-port handler serving docRoot. A nil logger
// discards.
func NewHandler(docRoot string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{docRoot: docRoot, log: log}
}

// SetMetrics makes the handler count requests, body bytes and durations in
// m. Call it before serving; a nil m turns counting off.
func (h *Handler) SetMetrics(m *metrics.Stord) { h.metrics = m }

// Wait blocks until no request is being handled. Run calls it after closing
// the server so in-flight uploads have cleaned up before it returns.
func (h *Handler) Wait() { h.inflight.Wait() }

// ServeHTTP dispatches on the method, as Perlbal's web server does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.inflight.Add(1)
	defer h.inflight.Done()
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	var body *countingReader
	if h.metrics != nil && r.Body != nil {
		body = &countingReader{ReadCloser: r.Body}
		r.Body = body
		h.metrics.InFlight.Inc()
		defer h.metrics.InFlight.Dec()
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("panic in request", "method", r.Method, "path", r.URL.Path, "panic", v)
			if rw.status == 0 {
				http.Error(rw, "Internal Server Error", http.StatusInternalServerError)
			}
		}
		dur := time.Since(start)
		h.log.Debug("request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
			"status", rw.status, "bytes", rw.written, "dur", dur)
		if body != nil {
			h.metrics.ObserveRequest(r.Method, rw.status, body.n, rw.written, dur)
		}
	}()

	// Signatures are checked before anything is looked at on disk.
	if err := h.authorize(r); err != nil {
		h.fail(rw, r, err)
		return
	}
	var err error
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		err = h.get(rw, r)
	case http.MethodPut:
		err = h.put(rw, r)
	case http.MethodDelete:
		err = h.delete(rw, r)
	case "MKCOL":
		err = h.mkcol(rw, r)
	case "MOVE":
		err = h.move(rw, r)
	default:
		err = fmt.Errorf("%w: %s", ErrMethod, r.Method)
	}
	if err != nil {
		h.fail(rw, r, err)
	}
}

// fail writes the error response for err and logs it at a level matching
// who is at fault: client errors at Debug, server faults at Warn.
func (h *Handler) fail(w *statusWriter, r *http.Request, err error) {
	code, text := statusFor(err)
	lvl := slog.LevelDebug
	if code >= 500 {
		lvl = slog.LevelWarn
	}
	h.log.Log(r.Context(), lvl, "request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	if w.status != 0 {
		return // headers already sent; the connection carries the failure
	}
	writeHTML(w, code, text)
}

// writeHTML sends Perlbal's tiny HTML response page with a Content-Length,
// which the tracker's raw-socket client needs to find the end of the body.
func writeHTML(w http.ResponseWriter, code int, text string) {
	body := fmt.Sprintf("<h1>%d - %s</h1>\n", code, text)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// openDevice opens the device directory of p as an os.Root, so that no
// operation through it can leave the device (symlinks included).
func (h *Handler) openDevice(p nodeproto.Path) (*os.Root, error) {
	root, err := os.OpenRoot(filepath.Join(h.docRoot, p.DevDir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("%w: %s", ErrNoDevice, p.DevDir)
		}
		return nil, fsErr(err)
	}
	return root, nil
}

// refuseEscape returns ErrEscapes when rel names a symlink that resolves
// outside the device. PUT (rename), DELETE and MKCOL never follow a final
// symlink, so they could not touch the outside anyway, but a path that
// points out of the device is refused for every method alike.
func refuseEscape(root *os.Root, rel string) error {
	if rel == "" {
		return nil
	}
	_, err := root.Stat(rel)
	if err = fsErr(err); errors.Is(err, ErrEscapes) {
		return err
	}
	return nil
}

// isRootPath reports whether the URL path is only slashes ("/", "//").
func isRootPath(p string) bool { return strings.Trim(p, "/") == "" }

// directoryListing answers GETs of directories: listing is disabled as in
// mogstored, but the status is 2xx because mogadm check requires it for
// "GET /".
func directoryListing(w http.ResponseWriter) {
	const body = "<h1>200 - Directory listing disabled</h1>\n"
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	if isRootPath(r.URL.Path) {
		directoryListing(w)
		return nil
	}
	p, err := nodeproto.ParsePath(r.URL.Path)
	if err != nil {
		return err
	}
	if p.Rel == "usage" && !p.Dir {
		return h.serveUsage(w, r, p)
	}
	root, err := h.openDevice(p)
	if err != nil {
		return err
	}
	defer root.Close()
	name := p.Rel
	if name == "" {
		name = "."
	}
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return errors.Join(ErrNotFound, err)
		}
		return fsErr(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fsErr(err)
	}
	if fi.IsDir() {
		directoryListing(w)
		return nil
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrNotFound, r.URL.Path)
	}
	// Setting the type avoids ServeContent sniffing (an extra read); Perlbal
	// serves .fid as text/plain and nothing relies on it.
	ctype := "text/plain"
	if ext := path.Ext(name); ext != ".fid" && ext != "" {
		if t := mime.TypeByExtension(ext); t != "" {
			ctype = t
		}
	}
	w.Header().Set("Content-Type", ctype)
	// ServeContent handles Range (206, 416 with "bytes */size"),
	// If-Modified-Since, HEAD, and copies an unranged body straight from
	// the *os.File, which lets net/http use sendfile.
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	p, root, err := h.target(r, true)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(p.Rel)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return errors.Join(ErrNotFound, err)
		}
		return fsErr(err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: %s", ErrIsDir, r.URL.Path)
	}
	if err := root.Remove(p.Rel); err != nil {
		return fsErr(err)
	}
	// 204, not 200: DevFID::destroy (rebalance) requires exactly 204.
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mkcol creates a directory (and its parents) and answers 201, also when it
// already exists: the tracker caches 2xx, treats 400/501 as "MKCOL not
// supported", and logs anything else as a failure.
func (h *Handler) mkcol(w http.ResponseWriter, r *http.Request) error {
	p, root, err := h.target(r, false)
	if err != nil {
		return err
	}
	defer root.Close()
	if p.Rel != "" {
		if err := root.MkdirAll(p.Rel, 0o755); err != nil {
			return fsErr(err)
		}
	}
	writeHTML(w, http.StatusCreated, "Created")
	return nil
}

// statusWriter records the status and body size for the request log. It
// forwards ReadFrom so io.Copy from an *os.File still reaches net/http's
// sendfile path.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.written += int64(n)
	return n, err
}

// ReadFrom implements io.ReaderFrom.
func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{s.ResponseWriter}, r)
	}
	s.written += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// countingReader counts request body bytes for the metrics.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// target resolves the request path for a method that changes the device
// (PUT, DELETE, MKCOL): it parses it, refuses a directory where a file is
// required, opens the device's root and refuses a path that leads out of it
// through a symlink. The caller closes the root.
func (h *Handler) target(r *http.Request, file bool) (nodeproto.Path, *os.Root, error) {
	p, err := nodeproto.ParsePath(r.URL.Path)
	if err != nil {
		return nodeproto.Path{}, nil, err
	}
	if file && (p.Rel == "" || p.Dir) {
		return nodeproto.Path{}, nil, fmt.Errorf("%w: %s", ErrIsDir, r.URL.Path)
	}
	root, err := h.openDevice(p)
	if err != nil {
		return nodeproto.Path{}, nil, err
	}
	if err := refuseEscape(root, p.Rel); err != nil {
		root.Close()
		return nodeproto.Path{}, nil, err
	}
	return p, root, nil
}
