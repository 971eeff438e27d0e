package vfs

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"mogfs/client"
)

func TestAllNoSpace(t *testing.T) {
	full := &client.HTTPError{Method: "PUT", URL: "http://n1/dev1/x.fid", Status: 507}
	full2 := &client.HTTPError{Method: "PUT", URL: "http://n2/dev2/x.fid", Status: 507}
	broken := fmt.Errorf("client: put: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET})
	store := func(errs ...error) error {
		return fmt.Errorf("store k: %w: %w", client.ErrNoPaths, errors.Join(errs...))
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"every destination 507", store(full, full2), true},
		{"one 507", store(full), true},
		{"507 and a broken node", store(full, broken), false},
		{"other status", store(&client.HTTPError{Status: 500}), false},
		{"not a store failure", full, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allNoSpace(tc.err); got != tc.want {
				t.Errorf("allNoSpace(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
