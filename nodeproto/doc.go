// Package nodeproto is the storage node's protocol (spec:
// storage-protocol.md), owned in one place for both of its ends: stord
// serves it, and the tracker's commands, jobs and monitor speak it. A
// compatibility fix to the node protocol is a change here.
//
//   - replica paths: FIDPath builds /devN/B/MMM/TTT/F10.fid, ParsePath
//     validates and confines the path of a request (§2, §3);
//   - hash types and their names in classes, checksums and digests;
//   - the per-device usage file: Usage.Format writes it, ParseUsage reads
//     it as the original tracker does (§4);
//   - the side channel on port 7501: ParseRequest, the digest and size
//     replies, the watch stream (§5);
//   - Client: HEAD, DELETE, MKCOL and digests against nodes;
//   - signed storage URLs (a mogfs extension): Sign and Verify the sig=
//     query parameter, Signer for a tracker's URLs and its HTTP clients.
//
// It imports nothing of mogfs: it is on the ground floor beside protocol.
package nodeproto
