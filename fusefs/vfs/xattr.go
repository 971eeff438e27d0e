package vfs

import (
	"context"
	"strconv"
	"strings"
)

// The extended attributes a file shows. Only the class is settable
// (updateclass); the others describe where and how the bytes are stored.
const (
	XattrFID      = "user.mogilefs.fid"
	XattrClass    = "user.mogilefs.class"
	XattrDevCount = "user.mogilefs.devcount"
	XattrPaths    = "user.mogilefs.paths"
)

// XattrNames lists the attributes of a file, in listxattr order.
var XattrNames = []string{XattrFID, XattrClass, XattrDevCount, XattrPaths}

// GetXattr returns attribute name of key; paths are newline-separated URLs.
func (fs *FS) GetXattr(ctx context.Context, domain, key, name string) ([]byte, error) {
	if err := fs.settle(ctx, domain, key); err != nil {
		return nil, err
	}
	switch name {
	case XattrFID, XattrClass, XattrDevCount:
		fi, err := fs.c.FileInfo(ctx, domain, key)
		if err != nil {
			return nil, err
		}
		switch name {
		case XattrFID:
			return []byte(strconv.FormatInt(fi.FID, 10)), nil
		case XattrClass:
			return []byte(fi.Class), nil
		default:
			return []byte(strconv.Itoa(fi.DevCount)), nil
		}
	case XattrPaths:
		paths, err := fs.c.GetPaths(ctx, domain, key, true, 10)
		if err != nil {
			return nil, err
		}
		return []byte(strings.Join(paths, "\n")), nil
	}
	return nil, ErrNoAttr
}

// SetXattr sets a settable attribute: the class, through updateclass.
func (fs *FS) SetXattr(ctx context.Context, domain, key, name string, value []byte) error {
	if err := fs.settle(ctx, domain, key); err != nil {
		return err
	}
	if name != XattrClass {
		return ErrNotSupported
	}
	return fs.c.UpdateClass(ctx, domain, key, strings.TrimSpace(string(value)))
}
