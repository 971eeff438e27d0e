package meta

import (
	"context"
	"errors"
)

// Entry is a name of the namespace as the mount sees it (mogfs_list,
// mogfs_lookup): a directory, a file under its own key or, for a hard
// link, under the key it names, or a special file (attributes alone).
type Entry struct {
	Name    string
	IsDir   bool
	File    File // the file's row: of Key for a hard link
	Attr    Attr // the attributes: of Key for a hard link
	HasAttr bool
	Key     string // the key holding the file, for a hard link ("" otherwise)
	Nlink   int    // a file's names
}

// ListEntries is ListDir resolved for the mount: each entry with its
// attributes, a hard link with the file row and attributes of the key it
// names (a link whose key is gone, deleted by a stock client, is left
// out), and each file's count of names. A page costs a fixed number of
// statements, whatever its length: the listing, the attribute rows, the
// links' keys and attributes, and the name counts.
func (s *Store) ListEntries(ctx context.Context, dmid int, prefix, after string, limit int) (ents []Entry, next string, done bool, err error) {
	des, next, done, err := s.ListDir(ctx, dmid, prefix, after, limit)
	if err != nil {
		return nil, "", false, err
	}
	paths := make([]string, len(des))
	for i, e := range des {
		paths[i] = prefix + e.Name
	}
	attrs, err := s.GetAttrs(ctx, dmid, paths)
	if err != nil {
		return nil, "", false, err
	}
	var linked, fileKeys []string
	for i, e := range des {
		if a := attrs[paths[i]]; a.LinkKey != "" {
			linked = append(linked, a.LinkKey)
			fileKeys = append(fileKeys, a.LinkKey)
		} else if !e.IsDir && !e.Special {
			fileKeys = append(fileKeys, paths[i])
		}
	}
	var linkFiles map[string]File
	var linkAttrs map[string]Attr
	if len(linked) > 0 {
		if linkFiles, err = s.FilesByKeys(ctx, dmid, linked); err != nil {
			return nil, "", false, err
		}
		if linkAttrs, err = s.GetAttrs(ctx, dmid, linked); err != nil {
			return nil, "", false, err
		}
	}
	counts, err := s.LinkCounts(ctx, dmid, fileKeys)
	if err != nil {
		return nil, "", false, err
	}
	ents = make([]Entry, 0, len(des))
	for i, e := range des {
		a, hasAttr := attrs[paths[i]]
		en := Entry{Name: e.Name, IsDir: e.IsDir, File: e.File, Attr: a, HasAttr: hasAttr, Nlink: 1 + counts[paths[i]]}
		if k := a.LinkKey; k != "" {
			f, ok := linkFiles[k]
			if !ok {
				continue
			}
			en.File, en.Key, en.Nlink = f, k, 1+counts[k]
			en.Attr, en.HasAttr = linkAttrs[k], true
		}
		ents = append(ents, en)
	}
	return ents, next, done, nil
}

// LookupEntry finds name in directory prefix: the entry ListEntries would
// give for it, or ErrNotFound. It costs a few indexed point queries,
// whatever the directory's size: the key prefix+name (the (dmid, dkey)
// unique index) and its attribute row (mogfs_attr's primary key: a file's
// attributes, an explicit directory, a special file or a hard link); then
// for a file the count of its other names (the (dmid, linkkey) index), for
// a hard link also the file row and attributes of the key it names, and
// for a miss one probe for a key or an explicit directory below
// prefix+name+"/" (HasChildren). At most five. An explicit directory wins
// over a key of the same name, as the mount has always resolved it.
func (s *Store) LookupEntry(ctx context.Context, dmid int, prefix, name string) (Entry, error) {
	key := prefix + name
	f, ferr := s.FileByKey(ctx, dmid, key)
	if ferr != nil && !errors.Is(ferr, ErrNotFound) {
		return Entry{}, ferr
	}
	a, aerr := s.GetAttr(ctx, dmid, key)
	if aerr != nil && !errors.Is(aerr, ErrNotFound) {
		return Entry{}, aerr
	}
	e := Entry{Name: name, File: f, Attr: a, HasAttr: aerr == nil, Nlink: 1}
	e.IsDir = e.HasAttr && a.IsDir
	if ferr != nil && e.HasAttr && a.IsSpecial() {
		e.File = File{}
		return e, nil
	}
	if e.HasAttr && a.LinkKey != "" {
		e.Key = a.LinkKey
		if e.File, ferr = s.FileByKey(ctx, dmid, e.Key); ferr != nil {
			return Entry{}, ferr // ErrNotFound: the key went (a stock client's delete)
		}
		if pa, err := s.GetAttr(ctx, dmid, e.Key); err == nil {
			e.Attr = pa
		}
	}
	if ferr != nil && !e.IsDir {
		sub, err := s.HasChildren(ctx, dmid, key+"/")
		if err != nil {
			return Entry{}, err
		}
		if !sub {
			return Entry{}, ErrNotFound
		}
		e.IsDir = true
	}
	if !e.IsDir {
		holder := key
		if e.Key != "" {
			holder = e.Key
		}
		counts, err := s.LinkCounts(ctx, dmid, []string{holder})
		if err != nil {
			return Entry{}, err
		}
		e.Nlink += counts[holder]
	}
	return e, nil
}
