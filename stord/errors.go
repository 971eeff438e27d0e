package stord

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"syscall"

	"mogfs/nodeproto"
)

// Sentinel errors of the storage node. Request handlers wrap them with
// context; statusFor is the one place that turns them into HTTP statuses.
var (
	// ErrNoDevice is returned when the devN directory named by a request does
	// not exist (or is not a directory) under the docroot: the device is not
	// mounted or not provisioned. HTTP 404 "Base directory does not exist",
	// which is how the tracker learns a write to a missing device failed.
	ErrNoDevice = errors.New("stord: base directory does not exist")

	// ErrNotFound is returned when the requested file does not exist. HTTP 404.
	ErrNotFound = errors.New("stord: not found")

	// ErrEscapes is returned when a path resolves outside its device
	// directory, e.g. through a symlink pointing to /etc. HTTP 403.
	ErrEscapes = errors.New("stord: path escapes the device directory")

	// ErrIsDir is returned when a file operation (PUT, DELETE) names a
	// directory. HTTP 400.
	ErrIsDir = errors.New("stord: is a directory")

	// ErrConflict is returned by MKCOL when a path component is an existing
	// regular file. HTTP 409 (not 400, which the tracker would read as
	// "this server does not implement MKCOL").
	ErrConflict = errors.New("stord: conflicting file in path")

	// ErrShortBody is returned when a PUT body ends before its declared
	// length (client disconnect) or carries more than it declared. Nothing is
	// left at the final path. HTTP 400.
	ErrShortBody = errors.New("stord: body length does not match content-length")

	// ErrMD5Mismatch is returned when the body of a PUT does not hash to its
	// Content-MD5 header. The temp file is removed. HTTP 400.
	ErrMD5Mismatch = errors.New("stord: content-md5 mismatch")

	// ErrBadContentRange is returned for a PUT whose Content-Range header is
	// not "bytes a-b/*" (or "/total") with a <= b and b-a+1 equal to the body
	// length. HTTP 400.
	ErrBadContentRange = errors.New("stord: invalid content-range")

	// ErrNoSpace is returned when the device is full, over quota or mounted
	// read-only. HTTP 507 Insufficient Storage; the tracker treats it as a
	// failed write and picks another device.
	ErrNoSpace = errors.New("stord: device full or read-only")

	// ErrNotWritable is returned when the device directory exists but the
	// process may not write to it (EACCES/EPERM): a deployment error that
	// needs a human. HTTP 500.
	ErrNotWritable = errors.New("stord: device not writable")

	// ErrBadDestination is returned for a MOVE whose Destination header is
	// missing, malformed, or names another device. HTTP 400.
	ErrBadDestination = errors.New("stord: bad destination")

	// ErrDestinationExists is returned for a MOVE with "Overwrite: F" onto
	// an existing file. HTTP 412 Precondition Failed (RFC 4918).
	ErrDestinationExists = errors.New("stord: destination exists")

	// ErrMethod is returned for HTTP methods the node does not implement.
	// HTTP 400, as Perlbal.
	ErrMethod = errors.New("stord: method not supported")
)

// statusFor maps an error from a request handler to an HTTP status and a
// short text for the response body. It is the only Go error -> HTTP mapping
// in stord; unknown errors are 500.
func statusFor(err error) (int, string) {
	switch {
	case errors.Is(err, nodeproto.ErrInvalidPath):
		return http.StatusBadRequest, "Invalid filename"
	case errors.Is(err, ErrNoDevice):
		return http.StatusNotFound, "Base directory does not exist"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "Not Found"
	case errors.Is(err, ErrEscapes):
		return http.StatusForbidden, "Forbidden"
	case errors.Is(err, ErrIsDir):
		return http.StatusBadRequest, "Is a directory"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "Conflict"
	case errors.Is(err, ErrShortBody):
		return http.StatusBadRequest, "Body length mismatch"
	case errors.Is(err, ErrMD5Mismatch):
		// Perlbal's wording, with the digests from the wrapped message.
		return http.StatusBadRequest, "Content-MD5 mismatch" + strings.TrimPrefix(err.Error(), ErrMD5Mismatch.Error())
	case errors.Is(err, ErrBadContentRange):
		return http.StatusBadRequest, "Invalid Content-Range"
	case errors.Is(err, ErrNoSpace):
		return http.StatusInsufficientStorage, "Insufficient Storage"
	case errors.Is(err, ErrNotWritable):
		return http.StatusInternalServerError, "Device not writable"
	case errors.Is(err, ErrBadDestination):
		return http.StatusBadRequest, "Bad Destination"
	case errors.Is(err, ErrDestinationExists):
		return http.StatusPreconditionFailed, "Precondition Failed"
	case errors.Is(err, ErrMethod):
		return http.StatusBadRequest, "Method not supported"
	case errors.Is(err, nodeproto.ErrUnsigned):
		return http.StatusForbidden, "Forbidden: URL not signed by a tracker"
	case errors.Is(err, nodeproto.ErrSigExpired):
		return http.StatusForbidden, "Forbidden: URL signature expired"
	case errors.Is(err, nodeproto.ErrSigReadOnly):
		return http.StatusForbidden, "Forbidden: URL signed for reading only"
	case errors.Is(err, nodeproto.ErrSigInvalid):
		return http.StatusForbidden, "Forbidden: invalid URL signature"
	}
	return http.StatusInternalServerError, "Internal Server Error"
}

// fsErr classifies an error from the file system (usually an *os.PathError
// from an os.Root method) by joining the matching sentinel to it, so that
// statusFor can map it and logs keep the original cause.
func fsErr(err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.Join(ErrNotFound, err)
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS:
			return errors.Join(ErrNoSpace, err)
		case syscall.EACCES, syscall.EPERM:
			return errors.Join(ErrNotWritable, err)
		case syscall.EISDIR:
			return errors.Join(ErrIsDir, err)
		case syscall.ENOTDIR, syscall.EEXIST:
			return errors.Join(ErrConflict, err)
		case syscall.ELOOP:
			return errors.Join(ErrEscapes, err)
		}
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// os.Root reports a path leaving the root (through "..", or a
		// symlink pointing outside) with an unexported error that is not a
		// syscall.Errno. Every errno case is handled above, so a *PathError
		// without one is that escape.
		return errors.Join(ErrEscapes, err)
	}
	return err
}
