package nodeproto

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"hash"
	"strings"
)

// Hash types: class.hashtype and checksum.hashtype in the database, and the
// algorithms a node digests on the side channel (Checksum.pm).
const (
	HashNone = 0
	HashMD5  = 1
	HashSHA1 = 2
)

// HashName is the protocol's name of hash type t ("MD5", "SHA-1"), or ""
// for none or a type this version does not know.
func HashName(t int) string {
	switch t {
	case HashMD5:
		return "MD5"
	case HashSHA1:
		return "SHA-1"
	}
	return ""
}

// HashType is the type named name, any case; "" and "NONE" are HashNone.
func HashType(name string) (int, bool) {
	switch strings.ToUpper(name) {
	case "MD5":
		return HashMD5, true
	case "SHA-1":
		return HashSHA1, true
	case "NONE", "":
		return HashNone, true
	}
	return 0, false
}

// NewHash returns a hash of type t, nil for none or an unknown type.
func NewHash(t int) hash.Hash {
	switch t {
	case HashMD5:
		return md5.New()
	case HashSHA1:
		return sha1.New()
	}
	return nil
}

// ParseChecksum parses "ALG:hex" (Checksum.pm::from_string); the digest
// must have its algorithm's length.
func ParseChecksum(s string) (hashtype int, sum []byte, ok bool) {
	alg, hx, found := strings.Cut(s, ":")
	if !found || alg == "" || len(hx) < 32 || len(hx) > 128 {
		return 0, nil, false
	}
	for _, c := range alg {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return 0, nil, false
		}
	}
	sum, err := hex.DecodeString(hx)
	if err != nil {
		return 0, nil, false
	}
	t, _ := HashType(alg)
	if h := NewHash(t); h == nil || len(sum) != h.Size() {
		return 0, nil, false
	}
	return t, sum, true
}

// FormatChecksum renders a checksum as "ALG:hex", the form file_info and
// create_close use.
func FormatChecksum(hashtype int, sum []byte) string {
	return HashName(hashtype) + ":" + hex.EncodeToString(sum)
}
