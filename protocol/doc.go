// Package protocol is the MogileFS tracker wire format, shared by trackerd and
// the client: one request per line ("cmd k=v&k=v\r\n"), one reply per line
// ("OK k=v&...\r\n" or "ERR code message\r\n"), arguments encoded with the
// original's eurl rules. It does no I/O beyond a bufio.Reader it is handed.
//
// The decoding rules reproduce MogileFS::Util::decode_url_args, quirks
// included (empty and "0" pairs are dropped, a raw '=' inside a value cuts it,
// repeated names join with NUL), because stock clients depend on the server
// reading their lines exactly as the Perl tracker does.
package protocol
