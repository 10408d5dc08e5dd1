import type http from 'node:http';

/**
 * The client's address for the audit trail (spec §15): the peer's, or, behind `trustedHops` proxies
 * (REEL_TRUSTED_PROXY_HOPS), the address the outermost trusted proxy saw, read from the right of
 * X-Forwarded-For: each proxy appends the address it received the request from, so entries further
 * left than the hops we trust are the client's to write, and are never believed.
 */
export function clientIp(req: Pick<http.IncomingMessage, 'headers' | 'socket'>, trustedHops: number): string | null {
  const peer = plain(req.socket?.remoteAddress);
  if (trustedHops <= 0 || peer === null) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const chain = [...forwarded, peer];
  // chain[last] is the peer (the nearest proxy); each trusted hop lets us believe one entry more.
  return plain(chain[Math.max(0, chain.length - 1 - trustedHops)]) ?? peer;
}

/** An IPv4 address mapped into IPv6 is written as IPv4; anything over 64 characters is not an address. */
function plain(address: string | undefined): string | null {
  if (!address || address.length > 64) return null;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
