/**
 * The client registry: dynamic registrations get a secret only when they ask for one (kept as a hash),
 * every use extends a registration's lifetime without a write per request, and an unused one lapses.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authenticateClient } from "../../../api/src/authorization-server/clients/authentication.ts";
import type { CimdResolver } from "../../../api/src/authorization-server/clients/cimd.ts";
import { parseClientMetadata } from "../../../api/src/authorization-server/clients/metadata.ts";
import { createClientRegistry, DCR_TTL_SEC } from "../../../api/src/authorization-server/clients/registry.ts";
import { AsError } from "../../../api/src/authorization-server/errors.ts";
import { Failure } from "../../../api/src/core/failure.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";
import type { Store } from "../../../api/src/store/store.ts";

const DAY = 86_400_000;
const noCimd: CimdResolver = {
  accepts: () => false,
  resolve: async () => assert.fail("no CIMD here"),
  resolveResult: async () => assert.fail("no CIMD here"),
};

function setup() {
  let clock = 1_700_000_000_000;
  const store = new MemoryStore({ now: () => clock });
  let puts = 0;
  const counted: Store = {
    get: (kind, id) => store.get(kind, id),
    put: (kind, id, value, opts) => {
      if (kind === "client") puts++;
      return store.put(kind, id, value, opts);
    },
    delete: (kind, id, opts) => store.delete(kind, id, opts),
    increment: (kind, id, windowSec) => store.increment(kind, id, windowSec),
    sweep: (at) => store.sweep(at),
    list: (kind, prefix, opts) => store.list(kind, prefix, opts),
  };
  const registry = createClientRegistry({
    store: counted,
    cimd: noCimd,
    preregistered: [],
    now: () => clock,
  });
  return {
    registry,
    store,
    puts: () => puts,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

function metadata(extra: Record<string, unknown> = {}) {
  const r = parseClientMetadata({ redirect_uris: ["https://claude.ai/api/mcp/auth_callback"], ...extra });
  assert.ok(r.ok);
  return r.value;
}

describe("client registry", () => {
  it("a public registration gets no secret; a client_secret_post one gets 256 random bits, stored only as a hash", async () => {
    const { registry, store } = setup();
    const pub = await registry.register(metadata());
    assert.equal(pub.secret, undefined);
    assert.equal(pub.record.secretHash, undefined);

    const conf = await registry.register(metadata({ token_endpoint_auth_method: "client_secret_post" }));
    assert.ok(conf.secret && conf.secret.length >= 43, "a base64url secret of 32 bytes");
    const row = await store.get<Record<string, unknown>>("client", conf.record.client_id);
    assert.ok(row);
    assert.ok(!JSON.stringify(row.value).includes(conf.secret), "the secret itself is not stored");
    assert.equal(typeof row.value.secretHash, "string");

    const again = await registry.register(metadata({ token_endpoint_auth_method: "client_secret_post" }));
    assert.notEqual(again.secret, conf.secret);
  });

  it("authenticates the secret by form or Basic; a wrong, missing or unasked-for secret is invalid_client", async () => {
    const { registry } = setup();
    const conf = await registry.register(metadata({ token_endpoint_auth_method: "client_secret_basic" }));
    const id = conf.record.client_id;
    const secret = conf.secret as string;
    for (const via of ["form", "basic"] as const) {
      const client = await authenticateClient(registry, { clientId: id, secret, via });
      assert.equal(client.client_id, id);
    }
    const refused = async (p: Parameters<typeof authenticateClient>[1], message: RegExp) => {
      await assert.rejects(authenticateClient(registry, p), (err: unknown) => {
        assert.ok(err instanceof Failure);
        assert.equal(err.reason, "invalid_client");
        assert.match(err.message, message);
        return true;
      });
    };
    await refused({ clientId: id, secret: `${secret}x`, via: "form" }, /authentication failed/);
    await refused({ clientId: id, via: "form" }, /send its client_secret/);
    const pub = await registry.register(metadata());
    await refused({ clientId: pub.record.client_id, secret: "anything", via: "form" }, /public/);
    await refused({ clientId: "dcr_never-registered", via: "form" }, /Register the client again/);
  });

  it("each use extends the lifetime, writing only once less than half of it remains; unused, it lapses", async () => {
    const { registry, store, puts, advance } = setup();
    const { record } = await registry.register(metadata());
    const id = record.client_id;
    assert.equal(puts(), 1);
    const expiry = async () => (await store.get("client", id))?.expiresAt ?? 0;
    const first = await expiry();

    // Busy client: a use a day for 44 days costs no write.
    for (let d = 0; d < 44; d++) {
      advance(DAY);
      await registry.resolve(id);
    }
    assert.equal(puts(), 1, "no write while more than half the lifetime remains");
    assert.equal(await expiry(), first);

    // Past the half: the next use writes once and the registration lives a full lifetime from now.
    advance(2 * DAY);
    await registry.resolve(id);
    assert.equal(puts(), 2);
    assert.ok((await expiry()) - first >= 45 * DAY, "extended");
    await registry.resolve(id);
    assert.equal(puts(), 2, "one write, not one per request");

    // Unused for the whole lifetime: gone, and the client is told to register again.
    advance(DCR_TTL_SEC * 1000 + 1);
    await assert.rejects(registry.resolve(id), (err: unknown) => err instanceof AsError);
  });
});
