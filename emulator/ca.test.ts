import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ensureCa } from "./ca.ts";

test("ensureCa: concurrent callers share one CA; the key is 0600; later calls reuse it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "emu-ca-"));
  try {
    const cas = await Promise.all([ensureCa(dir), ensureCa(dir), ensureCa(dir)]);
    assert.equal(new Set(cas.map((c) => c.certPem)).size, 1);
    if (process.platform !== "win32") assert.equal(statSync(cas[0].keyPath).mode & 0o777, 0o600);
    const again = await ensureCa(dir);
    assert.equal(again.certPem, cas[0].certPem);
    const server = await again.issueServerCert();
    assert.match(server.cert, /BEGIN CERTIFICATE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
