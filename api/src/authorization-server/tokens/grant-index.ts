/**
 * Who holds which grants: the index behind the Connected apps page and the administrators' endpoint.
 *
 * Rows (kind `gidx`, see the README's storage layout), each living as long as the grant it points to:
 * - `u.<tid>.<oid>.<grant id>`: the user's grants, listed by prefix;
 * - `c.<sha256(client id)>.<grant id>`: the client's grants (for administrators), listed by prefix;
 * - `n.<lower-case sign-in name>`: the user's `tid` and `oid`, so an administrator can look a user up by
 *   the name they know.
 *
 * A grant ended through the grant service drops its index rows; an index row whose grant is gone
 * (expired, or deleted by a path that did not know it) is skipped when listed and deleted then, and
 * otherwise swept with the rest of the expired state.
 *
 * @module
 */
import { sha256b64url } from "../../core/encoding.ts";
import type { Store } from "../../store/store.ts";

const KIND = "gidx";

export interface GrantRef {
  gid: string;
  tid: string;
  oid: string;
  clientId: string;
}

export const userPrefix = (tid: string, oid: string) => `u.${tid}.${oid}.`;
export const clientPrefix = async (clientId: string) => `c.${await sha256b64url(clientId)}.`;
const nameId = (username: string) => `n.${username.toLowerCase()}`;

async function rowIds(ref: GrantRef): Promise<string[]> {
  return [`${userPrefix(ref.tid, ref.oid)}${ref.gid}`, `${await clientPrefix(ref.clientId)}${ref.gid}`];
}

export function createGrantIndex(store: Store) {
  return {
    /** Writes (or renews) the grant's index rows for `ttlSec`, and the user's name for look-ups. */
    async add(ref: GrantRef, ttlSec: number, username?: string): Promise<void> {
      const value: GrantRef = { gid: ref.gid, tid: ref.tid, oid: ref.oid, clientId: ref.clientId };
      const writes = (await rowIds(ref)).map((id) => store.put(KIND, id, value, { ttlSec }));
      if (username)
        writes.push(store.put(KIND, nameId(username), { tid: ref.tid, oid: ref.oid }, { ttlSec }));
      await Promise.all(writes);
    },

    async remove(ref: GrantRef): Promise<void> {
      await Promise.all((await rowIds(ref)).map((id) => store.delete(KIND, id)));
    },

    /** The user's grant references (at most `limit`). */
    async byUser(tid: string, oid: string, limit?: number): Promise<GrantRef[]> {
      return (await store.list<GrantRef>(KIND, userPrefix(tid, oid), { limit })).map((r) => r.value);
    },

    /** The client's grant references (at most `limit`). */
    async byClient(clientId: string, limit?: number): Promise<GrantRef[]> {
      return (await store.list<GrantRef>(KIND, await clientPrefix(clientId), { limit })).map((r) => r.value);
    },

    /** The user who signed in with this name (`preferred_username`) most recently, if any grant is live. */
    async userByName(username: string): Promise<{ tid: string; oid: string } | undefined> {
      return (await store.get<{ tid: string; oid: string }>(KIND, nameId(username)))?.value;
    },
  };
}

export type GrantIndex = ReturnType<typeof createGrantIndex>;
