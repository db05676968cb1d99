// One network destination, `host:port` (`[v6]:port` for an IPv6 address): the grammar of the
// sandbox's allow-lists (config host.egressAllow, the repository policy's network.allow) and of the
// requests its egress proxy judges. Plain JavaScript: the proxy runs under node, outside the build.

/**
 * Its host (lower case, no brackets) and port, or undefined when it is not one.
 * @param {string} authority
 * @returns {{ host: string, port: number } | undefined}
 */
export function parseAuthority(authority) {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/[\]@]+)):(\d{1,5})$/.exec(authority);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: (match[1] ?? match[2] ?? '').toLowerCase(), port };
}
