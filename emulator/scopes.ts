// Scope parsing, the `resource` (RFC 8707) check and consent decisions shared by /authorize and /token.
import type { State } from "./state.ts";
import { type AppRegistration, fullScope, type Resource, resolveScope, type ScopeRef } from "./tenant.ts";

export type ScopeError =
  | { code: 500011; params: Record<string, string> }
  | { code: 650053; params: Record<string, string> }
  | { code: 28000; params: Record<string, string> };

export interface ParsedScopes {
  all: string[];
  oidc: string[];
  refs: Extract<ScopeRef, { kind: "resource" }>[];
}

export function splitScopes(scope: string | undefined): string[] {
  return (scope ?? "").split(/[\s+]+/).filter(Boolean);
}

export function parseScopes(
  state: State,
  client: AppRegistration,
  scopes: string[],
): ParsedScopes | ScopeError {
  const out: ParsedScopes = { all: scopes, oidc: [], refs: [] };
  for (const s of scopes) {
    const ref = resolveScope(s, state.resources);
    if (!ref) {
      const slash = s.lastIndexOf("/");
      return { code: 500011, params: { resource: s.slice(0, slash), tenant: state.tenantId } };
    }
    if (ref.kind === "oidc") out.oidc.push(ref.name);
    else {
      if (ref.name !== ".default" && !ref.resource.scopes.includes(ref.name)) {
        return {
          code: 650053,
          params: { appName: client.displayName, scope: ref.name, resource: ref.resource.appId },
        };
      }
      out.refs.push(ref);
    }
  }
  return out;
}

/** At /token a request may target only one resource (besides OIDC scopes). */
export function singleResource(parsed: ParsedScopes): Resource | null | ScopeError {
  const ids = new Set(parsed.refs.map((r) => r.resource.appId));
  if (ids.size > 1) return { code: 28000, params: { scope: parsed.all.join(" ") } };
  return parsed.refs[0]?.resource ?? null;
}

/**
 * RFC 8707 `resource`, as Entra treats it since 2026: it must equal, byte for byte, the resource
 * part (scope minus its last "/segment") of every non-OIDC scope; bare scopes never match.
 * Returns the AADSTS code to report, or null when acceptable.
 */
export function checkResourceParam(
  state: State,
  resource: string | undefined,
  scopes: string[],
): number | null {
  if (resource === undefined) return null;
  if (state.options.legacyResourceParameter) return 901002;
  const resourceScopes = scopes.filter((s) => !["openid", "profile", "email", "offline_access"].includes(s));
  if (resourceScopes.length === 0) return 9010010;
  for (const s of resourceScopes) {
    const slash = s.lastIndexOf("/");
    if (slash <= 0 || s.slice(0, slash) !== resource) return 9010010;
  }
  return null;
}

/** Scope names of `resource` that a `.default` or explicit request expands to for `client`. */
export function expandNames(client: AppRegistration, ref: ParsedScopes["refs"][number]): string[] {
  if (ref.name !== ".default") return [ref.name];
  const prefixes = ref.resource.uris.map((u) => `${u}/`);
  const names = client.requiredScopes
    .filter((s) => prefixes.some((p) => s.startsWith(p)))
    .map((s) => s.slice(s.lastIndexOf("/") + 1));
  return names;
}

/** Full scopes the user still has to consent to for `client` (pre-authorized and own scopes excluded). */
export function missingConsent(
  state: State,
  client: AppRegistration,
  oid: string,
  parsed: ParsedScopes,
): string[] {
  const missing: string[] = [];
  for (const ref of parsed.refs) {
    if (ref.resource.appId === client.clientId) continue;
    const owner = state.app(ref.resource.appId);
    for (const name of expandNames(client, ref)) {
      if (owner?.preAuthorized[client.clientId]?.includes(name)) continue;
      const full = fullScope(ref.resource, name);
      if (!state.consents.has(oid, client.clientId, full)) missing.push(full);
    }
  }
  return [...new Set(missing)];
}

/** Scope names granted on `resource` for this request (what goes into `scp`). */
export function grantedNames(
  state: State,
  client: AppRegistration,
  oid: string,
  parsed: ParsedScopes,
  resource: Resource,
): string[] {
  const names: string[] = [];
  for (const ref of parsed.refs) {
    if (ref.resource.appId !== resource.appId) continue;
    if (ref.name === ".default") {
      // .default = every consented (or pre-authorized, or static) scope of that resource.
      for (const s of resource.scopes) {
        const full = fullScope(resource, s);
        const owner = state.app(resource.appId);
        if (
          state.consents.has(oid, client.clientId, full) ||
          owner?.preAuthorized[client.clientId]?.includes(s) ||
          resource.appId === client.clientId
        )
          names.push(s);
      }
      for (const n of expandNames(client, ref)) names.push(n);
    } else names.push(ref.name);
  }
  return [...new Set(names)];
}
