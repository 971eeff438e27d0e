package meta

import "errors"

// Lookup and uniqueness errors. Callers map them to wire codes (unknown_key,
// domain_exists, ...) with errors.Is; the store never formats wire errors.
var (
	// ErrNotFound is returned when the row a method reads, updates or deletes
	// does not exist (unknown key, fid, domain, class, host, device, queue row,
	// checksum or attr). The caller reports the thing as unknown.
	ErrNotFound = errors.New("meta: not found")
	// ErrExists is returned when an insert or rename would violate a UNIQUE
	// constraint: domain or class name, host name or IP, devid, rename target.
	// The caller reports a duplicate; retrying will not help.
	ErrExists = errors.New("meta: already exists")
	// ErrFIDInUse is returned by RegisterTempFile for an explicit fid that is
	// already in tempfile or file, or not above MAX(file.fid) at Open. The
	// caller answers fid_in_use; the client may retry without a fid.
	ErrFIDInUse = errors.New("meta: fid in use")
	// ErrNoTempFile is returned by CloseFile when the tempfile row is gone
	// (already closed, or reaped as stale). The caller answers no_temp_file.
	ErrNoTempFile = errors.New("meta: no temp file")
)

// Errors that refuse a deletion because something still depends on the row.
var (
	// ErrDomainHasFiles is returned by DeleteDomain while the domain has keys.
	ErrDomainHasFiles = errors.New("meta: domain has files")
	// ErrDomainHasClasses is returned by DeleteDomain while the domain has a
	// class other than the default (classid 0).
	ErrDomainHasClasses = errors.New("meta: domain has classes")
	// ErrClassHasFiles is returned by DeleteClass while files use the class.
	ErrClassHasFiles = errors.New("meta: class has files")
	// ErrHostNotEmpty is returned by DeleteHost while any device row (even a
	// dead one) references the host.
	ErrHostNotEmpty = errors.New("meta: host not empty")
)

// Errors from Open. Both are configuration problems: the tracker should log
// them and exit rather than retry.
var (
	// ErrBadDSN is returned by ParseDSN and Open for a DSN that is not
	// DBI:SQLite:... or DBI:mysql:... in a form this package understands.
	ErrBadDSN = errors.New("meta: bad dsn")
	// ErrSchemaVersion is returned by Open when server_settings holds a
	// schema_version newer than 17 or not a number: the database belongs to a
	// newer server and must not be modified by this one. OpenReadOnly also
	// returns it for a database with no schema_version at all (not a MogileFS
	// database, or one no tracker has opened yet).
	ErrSchemaVersion = errors.New("meta: unsupported schema version")

	// ErrClosed is returned by writes attempted while or after the Store
	// closes; the caller is shutting down and should give up.
	ErrClosed = errors.New("meta: store closed")
	// ErrReadOnly is returned by every write of a Store from OpenReadOnly;
	// the caller is a read-only tool and should not have tried.
	ErrReadOnly = errors.New("meta: store is read-only")
)
