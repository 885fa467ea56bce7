import type { SessionRequest } from '../types.js'

/**
 * Whether a request arrived over HTTPS. A TLS socket always counts; with `trustProxy === false` only that;
 * with `undefined`, Express's `req.secure` ("trust proxy"); with `true`, the first `X-Forwarded-Proto` value.
 * @internal
 */
export function isSecure(req: SessionRequest, trustProxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted) return true
  if (trustProxy === false) return false
  if (trustProxy !== true) return req.secure === true

  const header = req.headers['x-forwarded-proto']
  if (typeof header !== 'string') return false
  const comma = header.indexOf(',')
  const proto = comma === -1 ? header : header.slice(0, comma)
  return proto.trim().toLowerCase() === 'https'
}
