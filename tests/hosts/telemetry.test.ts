// Which telemetry SDK a host starts: Azure Monitor when the Function App's connection string is set,
// OTLP when an endpoint is, the console when asked, and none otherwise (nothing loaded, no cost).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startTelemetry, telemetryTarget } from "../../api/src/hosts/telemetry.ts";

describe("hosts/telemetry", () => {
  test("the environment picks the destination", () => {
    const cs = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x.invalid/";
    assert.equal(telemetryTarget({ APPLICATIONINSIGHTS_CONNECTION_STRING: cs }), "azure-monitor");
    assert.equal(
      telemetryTarget({
        APPLICATIONINSIGHTS_CONNECTION_STRING: cs,
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      }),
      "azure-monitor",
    );
    assert.equal(telemetryTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }), "otlp");
    assert.equal(telemetryTarget({ OTEL_TRACES_EXPORTER: "console" }), "console");
    assert.equal(telemetryTarget({ OTEL_TRACES_EXPORTER: "none" }), undefined);
    assert.equal(telemetryTarget({ APPLICATIONINSIGHTS_CONNECTION_STRING: " " }), undefined);
    assert.equal(telemetryTarget({}), undefined);
  });

  test("with no destination nothing starts and no SDK is loaded", async () => {
    assert.equal(await startTelemetry({}), undefined);
    const loaded = Object.keys((globalThis as { require?: { cache?: object } }).require?.cache ?? {});
    assert.ok(!loaded.some((m) => m.includes("@opentelemetry/sdk-") || m.includes("monitor-opentelemetry")));
  });
});
