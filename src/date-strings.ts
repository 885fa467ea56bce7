/**
 * `Date#toUTCString()` and `Date#toISOString()` for the times a server formats over and over (cookie expiry
 * dates, all within the same second under load): the formatting is done once per second and reused.
 * @internal
 */

let utcSecond = NaN
let utcText = ''

/** `new Date(time).toUTCString()` for a finite `time` (ms since the epoch). */
export function utcString(time: number): string {
  const second = Math.floor(time / 1000)
  if (second !== utcSecond) {
    utcText = new Date(time).toUTCString()
    utcSecond = second
  }
  return utcText
}

let isoSecond = NaN
/** `toISOString()` of `isoSecond` without its milliseconds and `Z` (e.g. `2026-11-22T17:34:37.`). */
let isoPrefix = ''

/** `new Date(time).toISOString()` for a finite, integer `time` (ms since the epoch), as a `Date` holds. */
export function isoString(time: number): string {
  const second = Math.floor(time / 1000)
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString()
    isoPrefix = iso.slice(0, -4)
    isoSecond = second
  }
  const ms = time - second * 1000
  return isoPrefix + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z'
}
