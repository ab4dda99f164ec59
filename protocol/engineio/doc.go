// Package engineio encodes and decodes Engine.IO protocol v4 packets and HTTP
// long-polling payloads.
//
// It is a pure codec: standard library only, no I/O, no goroutines. Decoded
// packets alias the input buffer; callers that keep a packet beyond the life
// of that buffer must copy Data.
//
// Wire facts (see the protocol reference): a text packet is one ASCII type digit
// followed by UTF-8 data ("4hello", "2probe", "6"); on WebSocket a binary message
// is carried as a raw binary frame with no type byte; on polling a binary message
// is written as 'b' followed by standard base64, and packets are joined with the
// record separator 0x1e.
package engineio
