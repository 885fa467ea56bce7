/**
 * The default session ID generator.
 * @internal
 */

import uid from 'uid-safe'

/** IDs cut from one draw of the random source: one `uid-safe` string gives 64 IDs. */
const IDS_PER_DRAW = 64
/** 24 random bytes are exactly 32 base64url characters, so each slice is the encoding of its own 24 bytes. */
const ID_LENGTH = 32
let drawn = ''
let offset = 0

/**
 * A new session ID: 24 random bytes from the CSPRNG, base64url (32 characters, 192 bits). The bytes are drawn
 * 64 IDs at a time, which costs one system call instead of 64.
 */
export function generateSessionId(): string {
  if (offset === drawn.length) {
    drawn = uid.sync(24 * IDS_PER_DRAW)
    offset = 0
  }
  const id = drawn.slice(offset, offset + ID_LENGTH)
  offset += ID_LENGTH
  return id
}
