/**
 * IP address classification for the SSRF guard: is this address on the public Internet?
 *
 * Written as an allow-list, not a block-list: an IPv6 address is public only inside global unicast
 * `2000::/3`, minus the special-purpose blocks inside it; an IPv4 address is public unless it is in one
 * of the IANA special-purpose blocks (RFC 6890 and its updates). Anything that does not parse is *not*
 * public (fail closed). IPv4 embedded in IPv6 (`::ffff:10.0.0.1`, NAT64 `64:ff9b::10.0.0.1`) is judged
 * by its IPv4 part, so the mapped form cannot smuggle a private address past the check.
 *
 * No `node:net` here: this runs on every host.
 *
 * @module
 */

/** Dotted-quad IPv4 to its 32-bit value, or `undefined` (no octal, hex or short forms: DNS never returns them). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/** IPv6 text (optionally bracketed, optionally with a `%zone`) to eight 16-bit groups, or `undefined`. */
export function parseIpv6(text: string): number[] | undefined {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;

  // A trailing dotted quad stands for the last two groups (RFC 4291 §2.2, form 3).
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 0x10000), v4 % 0x10000];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1); // keep the `::` of `::1.2.3.4`, drop a single separator
  }

  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  const words: number[] = [];
  for (const g of [...head, ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
  }
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    words.push(...head.map((g) => Number.parseInt(g, 16)));
    for (let i = 0; i < 8 - explicit; i++) words.push(0);
    words.push(...rest.map((g) => Number.parseInt(g, 16)));
  } else {
    if (explicit !== 8) return undefined;
    words.push(...head.map((g) => Number.parseInt(g, 16)));
  }
  words.push(...tail);
  return words.length === 8 ? words : undefined;
}

type V4Block = [base: string, prefix: number, name: string];

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 §2.2.2 and updates), plus multicast and
// the reserved class E space. None of these is a place a client metadata document can live.
const V4_BLOCKS: V4Block[] = [
  ["0.0.0.0", 8, "this network / unspecified"], // RFC 791, RFC 1122 §3.2.1.3
  ["10.0.0.0", 8, "private"], // RFC 1918
  ["100.64.0.0", 10, "shared address space (CGNAT)"], // RFC 6598
  ["127.0.0.0", 8, "loopback"], // RFC 1122 §3.2.1.3
  ["169.254.0.0", 16, "link-local (cloud metadata lives at 169.254.169.254)"], // RFC 3927
  // Azure's WireServer (host agent, DNS, DHCP; reachable from every VM and App Service instance): a
  // public-looking address that only the host answers, so never a place for a client's document.
  ["168.63.129.16", 32, "Azure WireServer (host-internal)"],
  ["172.16.0.0", 12, "private"], // RFC 1918
  ["192.0.0.0", 24, "IETF protocol assignments"], // RFC 6890
  ["192.0.2.0", 24, "documentation"], // RFC 5737
  ["192.88.99.0", 24, "6to4 relay anycast"], // RFC 7526
  ["192.168.0.0", 16, "private"], // RFC 1918
  ["198.18.0.0", 15, "benchmarking"], // RFC 2544
  ["198.51.100.0", 24, "documentation"], // RFC 5737
  ["203.0.113.0", 24, "documentation"], // RFC 5737
  ["224.0.0.0", 4, "multicast"], // RFC 5771
  ["240.0.0.0", 4, "reserved (incl. broadcast)"], // RFC 1112 §4
];

function inV4Block(addr: number, [base, prefix]: V4Block): boolean {
  const size = 2 ** (32 - prefix);
  const start = parseIpv4(base)!;
  return addr >= start && addr < start + size;
}

/** Why an IPv4 address is not public, or `undefined` when it is. */
function classifyV4(addr: number): string | undefined {
  for (const block of V4_BLOCKS) if (inV4Block(addr, block)) return `${block[2]} (${block[0]}/${block[1]})`;
  return undefined;
}

/** Why an IPv6 address is not public, or `undefined` when it is. */
function classifyV6(w: number[]): string | undefined {
  const embeddedV4 = w[6] * 0x10000 + w[7];
  // ::ffff:0:0/96 IPv4-mapped (RFC 4291 §2.5.5.2): judge the IPv4 address it carries.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    const why = classifyV4(embeddedV4);
    return why ? `IPv4-mapped ${why}` : undefined;
  }
  // 64:ff9b::/96 NAT64 well-known prefix (RFC 6052 §2.1): the gateway would connect to the IPv4 inside.
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0) {
    const why = classifyV4(embeddedV4);
    return why ? `NAT64 ${why}` : undefined;
  }
  // Only global unicast 2000::/3 is public (RFC 4291 §2.4). This excludes :: (unspecified), ::1
  // (loopback), ::/96 IPv4-compatible, 100::/64 discard, fc00::/7 unique-local, fe80::/10 link-local,
  // fec0::/10 site-local and ff00::/8 multicast in one rule.
  if ((w[0] & 0xe000) !== 0x2000) return "not global unicast (outside 2000::/3)";
  if (w[0] === 0x2001 && w[1] < 0x200) return "IETF protocol assignments incl. Teredo (2001::/23)"; // RFC 2928, RFC 4380
  if (w[0] === 0x2001 && w[1] === 0x0db8) return "documentation (2001:db8::/32)"; // RFC 3849
  if (w[0] === 0x2002) return "6to4 (2002::/16)"; // RFC 3056: can wrap any IPv4 address
  if (w[0] === 0x3fff && w[1] < 0x1000) return "documentation (3fff::/20)"; // RFC 9637
  return undefined;
}

/**
 * Why `address` must not be connected to for an outbound fetch, or `undefined` when it is a public
 * unicast address. Unparseable input is refused.
 */
export function nonPublicReason(address: string): string | undefined {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return classifyV4(v4);
  const v6 = parseIpv6(address);
  if (v6 !== undefined) return classifyV6(v6);
  return "not an IP address";
}

export function isPublicAddress(address: string): boolean {
  return nonPublicReason(address) === undefined;
}

/** `127.0.0.0/8`, `::1` or their IPv4-mapped form: for the local-testing switch only. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  const w = parseIpv6(address);
  if (!w) return false;
  if (w.slice(0, 7).every((x) => x === 0) && w[7] === 1) return true;
  const mapped = w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff;
  return mapped && w[6] >>> 8 === 127;
}

/** The hostname of a parsed URL as an IP literal (brackets removed), or `undefined` for a DNS name. */
export function ipLiteral(hostname: string): string | undefined {
  if (hostname.startsWith("[") && hostname.endsWith("]")) return hostname.slice(1, -1);
  return parseIpv4(hostname) !== undefined ? hostname : undefined;
}
