package protocol

import (
	"errors"
	"fmt"
)

// ErrEmptyLine is returned by ParseRequest for a blank line. The server must
// send no reply at all for it, as the original does.
var ErrEmptyLine = errors.New("protocol: empty line")

// ErrLineTooLong is returned by ReadLine when a line exceeds the cap. The
// reader has skipped the rest of that line, so the connection can go on after
// the caller answers with an ERR.
var ErrLineTooLong = errors.New("protocol: line too long")

// ErrMalformed is returned for a reply line that is neither OK nor ERR, or a
// request line whose command is not a word.
var ErrMalformed = errors.New("protocol: malformed line")

// Error is a tracker error reply: "ERR <code> <message>". Code is stable and
// meant for programs; Message is for people.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" || e.Message == e.Code {
		return "mogilefs: " + e.Code
	}
	return fmt.Sprintf("mogilefs: %s: %s", e.Code, e.Message)
}

// Is lets errors.Is(err, &Error{Code: "unknown_key"}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errf returns an *Error with the given code and a formatted message.
func Errf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Err returns an *Error with the given code and its default message (the
// original's err_line table), or the code itself when it has none.
func Err(code string) *Error { return &Error{Code: code, Message: DefaultMessage(code)} }

// IsCode reports whether err is a tracker error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// defaultMessages is Query.pm::err_line's table; codes not in it use the code
// itself as the message.
var defaultMessages = map[string]string{
	"dup":                   "Duplicate name/number used.",
	"after_mismatch":        "Pattern does not match the after-value?",
	"bad_params":            "Invalid parameters to command; please see documentation",
	"class_exists":          "That class already exists in that domain",
	"class_has_files":       "Class still has files, unable to delete",
	"class_not_found":       "Class not found",
	"db":                    "Database error",
	"domain_has_files":      "Domain still has files, unable to delete",
	"domain_exists":         "That domain already exists",
	"domain_not_empty":      "Domain still has classes, unable to delete",
	"domain_has_classes":    "Domain still has classes, unable to delete",
	"domain_not_found":      "Domain not found",
	"failure":               "Operation failed",
	"host_exists":           "That host already exists",
	"host_mismatch":         "The device specified doesn't belong to the host specified",
	"host_not_empty":        "Unable to delete host; it contains devices still",
	"host_not_found":        "Host not found",
	"invalid_checker_level": "Checker level invalid.  Please see documentation on this command.",
	"invalid_mindevcount":   "The mindevcount must be at least 1",
	"key_exists":            "Target key name already exists; can't overwrite.",
	"no_class":              "No class provided",
	"no_devices":            "No devices found to store file",
	"no_device":             "Device not found",
	"no_domain":             "No domain provided",
	"no_host":               "No host provided",
	"no_ip":                 "IP required to create host",
	"no_port":               "Port required to create host",
	"no_temp_file":          "No tempfile or file already closed",
	"none_match":            "No keys match that pattern and after-value (if any).",
	"plugin_aborted":        "Action aborted by plugin",
	"state_too_high":        "Status cannot go from dead to alive; must use down",
	"unknown_command":       "Unknown server command",
	"unknown_host":          "Host not found",
	"unknown_state":         "Invalid/unknown state",
	"unreg_domain":          "Domain name invalid/not found",
	"rebal_not_started":     "Rebalance not running",
	"no_rebal_state":        "No available rebalance status",
	"no_rebal_policy":       "No rebalance policy available",
	"nodel_default_class":   "Cannot delete the default class",
	"fsck_running":          "fsck is already running",
}

// DefaultMessage returns the original's default text for code, or code.
func DefaultMessage(code string) string {
	if m, ok := defaultMessages[code]; ok {
		return m
	}
	return code
}
