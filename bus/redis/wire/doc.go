// Package wire is the codec of the classic @socket.io/redis-adapter wire format (8.x, pub/sub
// mode), so that Switchboard nodes interoperate with Node.js socket.io servers using that adapter
// and with @socket.io/redis-emitter 5.x publishers.
//
// It owns:
//
//   - the channel names: BroadcastChannel "<key>#<nsp>#", RoomChannel "<key>#<nsp>#<room>#",
//     BroadcastPattern "<key>#<nsp>#*", RequestChannel "<key>-request#<nsp>#", ResponseChannel
//     "<key>-response#<nsp>#", SpecificResponseChannel "<key>-response#<nsp>#<uid>#", and
//     ParseBroadcastChannel for the room of a received broadcast;
//   - broadcast messages, the msgpack array [uid, packet, opts] (EncodeBroadcast, DecodeBroadcast);
//   - request and response messages (EncodeRequest, DecodeRequest, EncodeResponse,
//     DecodeResponse), JSON or msgpack as the reference adapter writes them. Decoders tell the two
//     apart by the first byte: '{' is JSON, anything else msgpack.
//
// Three keys are Switchboard extensions, which Node peers ignore: "uid" in a response (the
// answering node), "matched" in the answer to a join/leave/disconnect request carrying a
// requestId, and "user" in a fetched socket (Response.UID, Response.Matched, SocketInfo.User).
//
// It is pure: no I/O, no goroutines. Subscribing, counting NUMSUB, timeouts and answering belong to
// the Redis adapter built on it. Functions are safe for concurrent use; results never alias their
// input.
//
// # Payload model
//
// Packet data is kept in Socket.IO's own model (package socketio): a raw JSON array in which each
// binary value stands as {"_placeholder":true,"num":N}, plus the attachments. On the wire the
// packet is not socket.io-parser encoded: it is the msgpack (notepack.io) encoding of the
// JavaScript value, binary values included as bin. The encoders write JSON as notepack.io 3 writes
// the value JSON.parse would give; the decoders write JSON as JSON.stringify writes the value
// notepack.io would decode:
//
//	JSON → msgpack (encode)                 msgpack → JSON (decode)
//	integral number → smallest int form     positive/negative fixint, uint8–64, int8–64 → integer
//	  (uint up to uint64, int down to int64;  (exact, where JavaScript rounds above 2^53)
//	  "1.0" and "1e3" are integers too)
//	other number → float64 (cb)             float32, float64 → shortest form, "2" not "2.0",
//	                                          exponent below 1e-6 and from 1e21; NaN, ±Inf → null
//	string → str8/16/32 (fixstr)            str → string (only '"', '\\', controls escaped;
//	                                          invalid UTF-8 → U+FFFD)
//	array, object → array, map (key order)  array, map → array, object (wire key order; keys:
//	                                          String(key), e.g. 1 → "1", true → "true")
//	placeholder → bin8/16/32                bin → placeholder + attachment (depth-first numbering)
//	true, false, null → c3, c2, c0          nil → null
//	                                        fixext1 type 0 (notepack 2 undefined) → null in an
//	                                          array, member omitted in a map
//	                                        timestamp ext −1 (32/64/96 bit) and notepack 2's
//	                                          fixext8 type 0 Date → ISO-8601 string as
//	                                          Date.toJSON ("2000-06-13T00:00:00.000Z"), null when
//	                                          out of the Date range
//	                                        ext8/16/32 type 0 (notepack 2 ArrayBuffer) → binary
//	                                        any other ext → [type, <binary body>], as notepack
//	                                          decodes it
//
// The msgpack side uses github.com/vmihailenco/msgpack/v5 (Encoder and Decoder primitives); its
// smallest-form choices for ints, strings, binaries, arrays and maps are those of notepack.io, so
// EncodeBroadcast reproduces the adapter's bytes exactly. Known differences from Node: integers
// beyond 2^53 stay exact; a JSON integer beyond uint64 is written as float64 (notepack would wrap
// it); map keys are not reordered the way a JavaScript object puts integer-like keys first, and
// duplicate keys inside data are kept as they come.
//
// Placeholders follow socket.io-parser: a value with attachments reads every placeholder-shaped
// object as a placeholder; a value without attachments carries such objects as plain data (as an
// EVENT does), and they are written as msgpack maps. A received value that mixes binary with a
// map having "_placeholder": true cannot be represented and is refused (ErrMalformed).
//
// Decoding is lenient where the reference is: keys in any order, unknown keys ignored, missing
// keys defaulted (nsp "/", empty rooms and flags), notepack 2's undefined taken as absent,
// numeric rooms turned into strings. It is strict about what would otherwise go wrong silently:
// trailing bytes, lengths past the end of the input, nesting deeper than MaxDepth, a known key
// twice in one map, a field of the wrong type. Every error wraps ErrMalformed (decoders) or
// ErrInvalidData (encoders), and no input makes the package panic.
package wire
