/**
 * The loopback host names (`localhost`, `127.0.0.1`, `[::1]`, as `URL.hostname` spells them), from the
 * MCP SDK's DNS-rebinding helpers: the hosts where plain http is allowed for local runs.
 *
 * @module
 */
import { localhostAllowedHostnames } from "@modelcontextprotocol/server";

export const LOOPBACK_HOSTS: readonly string[] = localhostAllowedHostnames();

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.includes(hostname);
}
