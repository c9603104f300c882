import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ipLiteral,
  isLoopbackAddress,
  nonPublicReason,
  parseIpv6,
} from "../../../api/src/authorization-server/clients/ip.ts";

describe("nonPublicReason (SSRF address policy)", () => {
  const refused = [
    "0.0.0.0",
    "10.0.0.5",
    "100.64.0.1",
    "100.127.255.255",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "224.0.0.251",
    "239.255.255.250",
    "255.255.255.255",
    "::",
    "::1",
    "[::1]",
    "::ffff:10.0.0.1",
    "::ffff:192.168.1.1",
    "::ffff:169.254.169.254",
    "::ffff:7f00:1",
    "::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "fc00::1",
    "fd00::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1",
    "2002:a00:1::1",
    "100::1",
    "not-an-ip",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.256",
    "1::2::3",
    "",
  ];
  for (const address of refused) {
    test(`refuses ${JSON.stringify(address)}`, () => {
      assert.notEqual(nonPublicReason(address), undefined);
    });
  }
  const allowed = [
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
  ];
  for (const address of allowed) {
    test(`allows ${address}`, () => {
      assert.equal(nonPublicReason(address), undefined);
    });
  }

  test("parseIpv6 forms", () => {
    assert.deepEqual(parseIpv6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    assert.deepEqual(parseIpv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(parseIpv6("1::"), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(parseIpv6("1:2:3:4:5:6:7:8:9"), undefined);
    assert.equal(parseIpv6("12345::"), undefined);
  });

  test("isLoopbackAddress and ipLiteral", () => {
    assert.equal(isLoopbackAddress("127.0.0.1"), true);
    assert.equal(isLoopbackAddress("::1"), true);
    assert.equal(isLoopbackAddress("::ffff:127.0.0.1"), true);
    assert.equal(isLoopbackAddress("10.0.0.1"), false);
    assert.equal(ipLiteral("[::1]"), "::1");
    assert.equal(ipLiteral("127.0.0.1"), "127.0.0.1");
    assert.equal(ipLiteral("example.com"), undefined);
  });
});
