package nodeproto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signed storage URLs (a mogfs extension, off unless a secret is set): a
// tracker that shares a secret with the storage nodes adds an expiring
// signature to the URLs it hands out and to the requests it makes itself,
// and a node refuses writes (and, optionally, reads) without one. The
// signature is one query parameter,
//
//	sig=<perm>.<expires>.<mac>
//
// perm is "r" (GET, HEAD) or "w" (PUT, DELETE, MKCOL, MOVE, and reads);
// expires is a Unix time in decimal; mac is the unpadded base64url
// HMAC-SHA256, under the secret, of
//
//	"mogfs-sig-v1\n" + perm + "\n" + expires + "\n" + path
//
// where path is the request path as ParsePath reads it, written back by
// Path.String (the file the node acts on, whatever spelling reached it).
// Clients treat the URL as opaque, as MogileFS clients do, so they need no
// change. The expiry is checked when a request arrives, so an upload that
// starts in time may take as long as it needs.

// SigParam is the query parameter that carries a signature.
const SigParam = "sig"

// MinSecretLen is the shortest secret CheckSecret accepts.
const MinSecretLen = 16

// Perm is what a signature permits.
type Perm byte

// The two permissions. A write signature also permits reads of its path:
// edit_file's client HEADs and reads the file it is editing.
const (
	PermRead  Perm = 'r' // GET, HEAD
	PermWrite Perm = 'w' // PUT, DELETE, MKCOL, MOVE
)

// Errors of Verify and CheckSecret. A node answers every Verify error with
// 403 Forbidden; a client should ask the tracker for a fresh URL.
var (
	// ErrUnsigned is returned by Verify when the query has no signature.
	ErrUnsigned = errors.New("nodeproto: storage URL is not signed")
	// ErrSigInvalid is returned by Verify for a malformed signature, more
	// than one, or one that is not the secret's signature of this path
	// (tampered, another path, another secret).
	ErrSigInvalid = errors.New("nodeproto: storage URL signature is invalid")
	// ErrSigExpired is returned by Verify for a valid signature whose
	// expiry has passed.
	ErrSigExpired = errors.New("nodeproto: storage URL signature has expired")
	// ErrSigReadOnly is returned by Verify for a valid read signature on a
	// request that writes.
	ErrSigReadOnly = errors.New("nodeproto: storage URL signature permits reading only")
	// ErrShortSecret is returned by CheckSecret for a secret shorter than
	// MinSecretLen bytes: choose a longer one.
	ErrShortSecret = fmt.Errorf("nodeproto: storage secret shorter than %d bytes", MinSecretLen)
)

// CheckSecret returns ErrShortSecret for a secret that is set but too short
// to resist guessing. An empty secret (signing off) is fine.
func CheckSecret(secret []byte) error {
	if len(secret) > 0 && len(secret) < MinSecretLen {
		return ErrShortSecret
	}
	return nil
}

// MethodPerm returns the permission a request method needs; ok is false for
// methods a node does not serve.
func MethodPerm(method string) (perm Perm, ok bool) {
	switch method {
	case http.MethodGet, http.MethodHead:
		return PermRead, true
	case http.MethodPut, http.MethodDelete, "MKCOL", "MOVE":
		return PermWrite, true
	}
	return 0, false
}

const sigVersion = "mogfs-sig-v1\n"

func mac(secret []byte, perm Perm, expires, path string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(sigVersion))
	m.Write([]byte{byte(perm), '\n'})
	m.Write([]byte(expires))
	m.Write([]byte{'\n'})
	m.Write([]byte(path))
	return m.Sum(nil)
}

// Sign returns the value of the sig parameter that lets perm be done to
// path until expires.
func Sign(secret []byte, perm Perm, path string, expires time.Time) string {
	exp := strconv.FormatInt(max(expires.Unix(), 0), 10)
	return string(perm) + "." + exp + "." + base64.RawURLEncoding.EncodeToString(mac(secret, perm, exp, path))
}

// Verify checks that rawQuery carries exactly one signature under secret
// that permits need on path (as Path.String writes it) at now. It returns
// nil, ErrUnsigned, ErrSigInvalid, ErrSigExpired or ErrSigReadOnly.
func Verify(secret []byte, need Perm, path, rawQuery string, now time.Time) error {
	val, n := "", 0
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k != SigParam {
			continue
		}
		if n++; n > 1 {
			return fmt.Errorf("%w: more than one %s parameter", ErrSigInvalid, SigParam)
		}
		val = v
	}
	if n == 0 {
		return ErrUnsigned
	}
	perm, exp, sum, ok := parseSig(val)
	if !ok {
		return fmt.Errorf("%w: malformed", ErrSigInvalid)
	}
	if !hmac.Equal(sum, mac(secret, perm, exp, path)) {
		return fmt.Errorf("%w: not a signature of %s", ErrSigInvalid, path)
	}
	at, _ := strconv.ParseInt(exp, 10, 64)
	if now.Unix() > at {
		return fmt.Errorf("%w at %s", ErrSigExpired, time.Unix(at, 0).UTC().Format(time.RFC3339))
	}
	if need == PermWrite && perm != PermWrite {
		return ErrSigReadOnly
	}
	return nil
}

// parseSig splits "<perm>.<expires>.<mac>", strictly: perm r or w, expires
// 1-19 decimal digits without a leading zero that fit an int64, and a
// 32-byte MAC in canonical unpadded base64url.
func parseSig(v string) (perm Perm, exp string, sum []byte, ok bool) {
	p, rest, ok1 := strings.Cut(v, ".")
	exp, enc, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(p) != 1 || (p[0] != byte(PermRead) && p[0] != byte(PermWrite)) {
		return 0, "", nil, false
	}
	if exp == "" || len(exp) > 19 || (exp[0] == '0' && exp != "0") {
		return 0, "", nil, false
	}
	for i := 0; i < len(exp); i++ {
		if exp[i] < '0' || exp[i] > '9' {
			return 0, "", nil, false
		}
	}
	if _, err := strconv.ParseInt(exp, 10, 64); err != nil {
		return 0, "", nil, false
	}
	if len(enc) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return 0, "", nil, false
	}
	sum, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return 0, "", nil, false
	}
	return Perm(p[0]), exp, sum, true
}

// canonical is the path a signature binds: what ParsePath makes of p, or p
// itself when it is not a node path (a node refuses it anyway).
func canonical(p string) string {
	if pp, err := ParsePath(p); err == nil {
		return pp.String()
	}
	return p
}

// setSig returns rawQuery without its sig parameters, plus sig=val when val
// is not empty.
func setSig(rawQuery, val string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(rawQuery, "&") {
		if k, _, _ := strings.Cut(part, "="); part == "" || k == SigParam {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	if val != "" {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(SigParam + "=" + val)
	}
	return b.String()
}

// Unsigned returns rawURL without its signature: the URL as a tracker
// without a secret would have handed it out.
func Unsigned(rawURL string) string {
	base, q, ok := strings.Cut(rawURL, "?")
	if !ok {
		return rawURL
	}
	if q = setSig(q, ""); q == "" {
		return base
	}
	return base + "?" + q
}

// Signer signs storage URLs for a tracker. A nil *Signer signs nothing, so
// a tracker without a secret calls it all the same.
type Signer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewSigner returns a Signer whose signatures last ttl, or nil when secret
// is empty (signing off).
func NewSigner(secret []byte, ttl time.Duration) *Signer {
	if len(secret) == 0 {
		return nil
	}
	return &Signer{secret: secret, ttl: ttl, now: time.Now}
}

func (s *Signer) sign(perm Perm, path string) string {
	return Sign(s.secret, perm, canonical(path), s.now().Add(s.ttl))
}

// URL returns rawURL (http://host:port/devN/..., or a bare path) signed for perm,
// replacing any signature it had; rawURL itself when s is nil.
func (s *Signer) URL(rawURL string, perm Perm) string {
	if s == nil {
		return rawURL
	}
	base, q, _ := strings.Cut(rawURL, "?")
	path := base
	if i := strings.Index(base, "://"); i >= 0 {
		rest := base[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return rawURL
		}
		path = rest[j:]
	}
	return base + "?" + setSig(q, s.sign(perm, path))
}

// Client returns a client that sends c's requests (c nil:
// http.DefaultClient's) signed for their method, replacing any signature
// they had; c itself when s is nil. Every request a tracker makes of its
// nodes goes through such a client.
func (s *Signer) Client(c *http.Client) *http.Client {
	if s == nil {
		return c
	}
	if c == nil {
		c = http.DefaultClient
	}
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = &signingTransport{s: s, base: base}
	return &out
}

// signingTransport signs each request as it goes out, so that a redirect
// or a retry is signed afresh.
type signingTransport struct {
	s    *Signer
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper. It does not modify req: the
// signed request is a clone (sharing req's body).
func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	perm, ok := MethodPerm(req.Method)
	if !ok {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.RawQuery = setSig(req.URL.RawQuery, t.s.sign(perm, req.URL.Path))
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (t *signingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// VerifyDestination checks a MOVE's Destination header (an absolute URL
// or path) like Verify: the destination must carry its own write
// signature, so a MOVE cannot land on a path the tracker did not hand out.
func VerifyDestination(secret []byte, dest string, now time.Time) error {
	u, err := url.Parse(dest)
	if err != nil {
		return fmt.Errorf("%w: destination: %v", ErrSigInvalid, err)
	}
	p, err := ParsePath(u.Path)
	if err != nil {
		return fmt.Errorf("%w: destination: %w", ErrSigInvalid, err)
	}
	if err := Verify(secret, PermWrite, p.String(), u.RawQuery, now); err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	return nil
}
