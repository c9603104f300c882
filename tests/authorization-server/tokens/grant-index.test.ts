/**
 * The grant index behind the Connected apps page, on the in-memory store: a user's grants and a
 * client's, one grant per user and client, the per-user bound, "last used" written at most once per
 * resolution, and index rows that go with their grant (and are swept with the rest).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createGrantService,
  type GrantService,
  LAST_USED_RESOLUTION_MS,
  MAX_GRANTS_PER_USER,
} from "../../../api/src/authorization-server/tokens/grants.ts";
import { createKeyring } from "../../../api/src/authorization-server/tokens/keyring.ts";
import { loadConfig } from "../../../api/src/config/config.ts";
import { Failure } from "../../../api/src/core/failure.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

const TID = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const ADELE = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f";
const ALEX = "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a";
const config = loadConfig({
  AUTH_MODE: "proxy",
  PUBLIC_URL: "http://127.0.0.1:7071",
  ENTRA_TENANT_ID: TID,
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
  STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1",
});

function setup() {
  let t = Date.UTC(2026, 0, 1);
  const now = () => t;
  const store = new MemoryStore({ now });
  const grants = createGrantService(config, { store, keyring: createKeyring(store), now });
  return { store, grants, now, advance: (ms: number) => (t += ms) };
}

async function connect(
  grants: GrantService,
  oid: string,
  clientId: string,
  username = `${oid}@contoso.test`,
) {
  const { code } = await grants.create({
    tid: TID,
    oid,
    username,
    clientId,
    scopes: ["user_impersonation"],
    offline: false,
    upstream: { accessToken: "entra-at", expiresAt: Date.now() + 3_600_000 },
    code: { redirectUri: "http://127.0.0.1/cb", redirectUriGiven: true, codeChallenge: "x".repeat(43) },
    client: { name: `App ${clientId}`, source: "dcr", host: "127.0.0.1", redirectUri: "http://127.0.0.1/cb" },
  });
  return (await grants.redeemCode(code, async () => {})).access_token;
}

describe("grant index", () => {
  it("lists a user's grants newest first and a client's grants across users", async () => {
    const { grants, advance } = setup();
    await connect(grants, ADELE, "a");
    advance(1000);
    await connect(grants, ADELE, "b");
    await connect(grants, ALEX, "a");
    const mine = await grants.listByUser(TID, ADELE);
    assert.deepEqual(
      mine.map((g) => g.clientId),
      ["b", "a"],
    );
    assert.equal(mine[0]?.client?.name, "App b");
    assert.deepEqual((await grants.listByClient("a")).map((g) => g.oid).sort(), [ADELE, ALEX].sort());
    assert.deepEqual(await grants.userByName(`${ADELE.toUpperCase()}@CONTOSO.TEST`), {
      tid: TID,
      oid: ADELE,
    });
  });

  it("connecting the same client again replaces its grant once the new code is redeemed", async () => {
    const { grants } = setup();
    const first = await connect(grants, ADELE, "a");
    const second = await connect(grants, ADELE, "a");
    assert.equal((await grants.listByUser(TID, ADELE)).length, 1);
    await assert.rejects(grants.verifyAccessToken(first), Failure);
    assert.ok(await grants.verifyAccessToken(second));
  });

  it(`a user holds at most ${MAX_GRANTS_PER_USER} grants: the oldest ends first`, async () => {
    const { grants, advance } = setup();
    const oldest = await connect(grants, ADELE, "c0");
    for (let i = 1; i <= MAX_GRANTS_PER_USER; i++) {
      advance(1000);
      await connect(grants, ADELE, `c${i}`);
    }
    const live = await grants.listByUser(TID, ADELE);
    assert.equal(live.length, MAX_GRANTS_PER_USER);
    assert.ok(!live.some((g) => g.clientId === "c0"));
    await assert.rejects(grants.verifyAccessToken(oldest), Failure);
  });

  it("last used is written at most once per resolution", async () => {
    const { grants, store, advance, now } = setup();
    const token = await connect(grants, ADELE, "a");
    const [g] = await grants.listByUser(TID, ADELE);
    assert.equal(g?.lastUsedAt, undefined);
    let writes = 0;
    const put = store.put.bind(store);
    store.put = (kind, id, value, opts) => {
      if (kind === "grant") writes++;
      return put(kind, id, value, opts);
    };
    for (let i = 0; i < 20; i++) await grants.verifyAccessToken(token);
    assert.equal(writes, 1, "twenty uses, one write");
    const used = now();
    assert.equal((await grants.listByUser(TID, ADELE))[0]?.lastUsedAt, used);
    advance(LAST_USED_RESOLUTION_MS - 1);
    await grants.verifyAccessToken(token);
    assert.equal(writes, 1);
    advance(1);
    await grants.verifyAccessToken(token);
    assert.equal(writes, 2);
    assert.equal((await grants.listByUser(TID, ADELE))[0]?.lastUsedAt, now());
  });

  it("ending a grant removes its index rows; a revoked grant's use never brings it back", async () => {
    const { grants, store } = setup();
    const token = await connect(grants, ADELE, "a");
    const [g] = await grants.listByUser(TID, ADELE);
    // A use racing the revocation: its "last used" write is conditional, so it can't recreate the row.
    const verified = grants.verifyAccessToken(token).catch(() => undefined);
    const ended = await grants.end(g!.grantId);
    await verified;
    assert.equal(ended?.clientId, "a");
    assert.deepEqual(await grants.listByUser(TID, ADELE), []);
    assert.deepEqual(await grants.listByClient("a"), []);
    assert.equal(await store.get("grant", g!.grantId), undefined);
    assert.equal((await store.list("gidx", "u.")).length, 0);
    await assert.rejects(grants.verifyAccessToken(token), Failure);
  });

  it("index rows expire with their grant and are swept", async () => {
    const { grants, store, advance } = setup();
    await connect(grants, ADELE, "a");
    advance(91 * 24 * 3600 * 1000);
    assert.deepEqual(await grants.listByUser(TID, ADELE), []);
    await store.sweep();
    assert.equal(store.size, 1, "only the keyring is left");
    assert.ok(await store.get("key", "keyring"));
  });
});
