package wire

import "strings"

// DefaultKey is the default channel prefix (the adapter's and the emitter's key option).
const DefaultKey = "socket.io"

// BroadcastChannel returns "<key>#<nsp>#", the channel of broadcasts with zero or several rooms.
func BroadcastChannel(key, nsp string) string { return key + "#" + nsp + "#" }

// RoomChannel returns "<key>#<nsp>#<room>#", the channel of broadcasts to exactly one room.
func RoomChannel(key, nsp, room string) string { return key + "#" + nsp + "#" + room + "#" }

// PublishChannel returns the channel the reference adapter publishes a broadcast with opts to:
// RoomChannel when opts.Rooms holds exactly one room, BroadcastChannel otherwise.
func PublishChannel(key, nsp string, opts *Opts) string {
	if len(opts.Rooms) == 1 {
		return RoomChannel(key, nsp, opts.Rooms[0])
	}
	return BroadcastChannel(key, nsp)
}

// BroadcastPattern returns "<key>#<nsp>#*", the PSUBSCRIBE pattern that receives the broadcasts
// of a namespace. The pattern also matches the channels of namespaces named nsp+"#…", which
// ParseBroadcastChannel cannot tell apart (neither can the reference adapter); namespaces
// containing '#' should be avoided.
func BroadcastPattern(key, nsp string) string { return key + "#" + nsp + "#*" }

// RequestChannel returns "<key>-request#<nsp>#".
func RequestChannel(key, nsp string) string { return key + "-request#" + nsp + "#" }

// ResponseChannel returns "<key>-response#<nsp>#", the common response channel.
func ResponseChannel(key, nsp string) string { return key + "-response#" + nsp + "#" }

// SpecificResponseChannel returns "<key>-response#<nsp>#<uid>#", where peers configured with
// publishOnSpecificResponseChannel answer the server uid.
func SpecificResponseChannel(key, nsp, uid string) string {
	return key + "-response#" + nsp + "#" + uid + "#"
}

// ParseBroadcastChannel extracts the room of a channel received through BroadcastPattern(key,
// nsp). It strips the known prefix "<key>#<nsp>#" and then one trailing '#': whatever lies in
// between is the room, '#' characters included ("a#b" in "socket.io#/#a#b#"). room is "" for the
// namespace-wide channel (and for a broadcast to the room ""; the reference adapter does not tell
// them apart either). ok is false when channel does not start with the prefix, or when something
// follows the prefix without a closing '#' (the reference adapter would drop its last character
// blindly; no producer writes such channels).
func ParseBroadcastChannel(key, nsp, channel string) (room string, ok bool) {
	rest, found := cutPart(channel, key)
	if !found {
		return "", false
	}
	if rest, found = cutPart(rest, nsp); !found {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	if room, found = strings.CutSuffix(rest, "#"); !found {
		return "", false
	}
	return room, true
}

// cutPart removes part+"#" from the start of s, without building the concatenation.
func cutPart(s, part string) (rest string, ok bool) {
	if len(s) <= len(part) || s[len(part)] != '#' || s[:len(part)] != part {
		return s, false
	}
	return s[len(part)+1:], true
}
