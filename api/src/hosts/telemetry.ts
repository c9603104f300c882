/**
 * Registers an OpenTelemetry SDK for the traces, metrics and audit records the server emits through the
 * OpenTelemetry API (`core/telemetry.ts`), chosen by the environment:
 *
 * - `APPLICATIONINSIGHTS_CONNECTION_STRING` (the Function App sets it): the Azure Monitor distro
 *   (`@azure/monitor-opentelemetry`), sending with the managed identity (`MANAGED_IDENTITY_CLIENT_ID`),
 *   since the Application Insights component accepts Entra-authenticated telemetry only;
 * - else `OTEL_EXPORTER_OTLP_ENDPOINT`: the OpenTelemetry Node SDK to that OTLP endpoint (the SDK reads
 *   the other standard `OTEL_*` variables itself);
 * - else `OTEL_TRACES_EXPORTER=console`: the same SDK, printing spans, metrics and records to stdout;
 * - else nothing: no SDK is loaded, and the API's calls stay no-ops.
 *
 * The SDKs are loaded with `import()` only when chosen, so a server without telemetry neither loads nor
 * parses them (the bundle keeps them in a chunk of their own, see `scripts/build.ts`).
 *
 * Automatic instrumentation is off: the HTTP instrumentation would record request URLs, and a callback's
 * URL carries an authorization code. The server's own spans cover requests, token checks, storage, OBO
 * and Graph.
 *
 * @module
 */

export type TelemetryTarget = "azure-monitor" | "otlp" | "console";

export interface Telemetry {
  target: TelemetryTarget;
  /** Sends what is buffered and stops the SDK (call it on shutdown). */
  shutdown(): Promise<void>;
}

export const SERVICE_NAME = "entra-mcp-server";

type Env = Record<string, string | undefined>;

/** Where telemetry goes, or nowhere. */
export function telemetryTarget(env: Env): TelemetryTarget | undefined {
  if (env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim()) return "azure-monitor";
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return "otlp";
  if (env.OTEL_TRACES_EXPORTER?.split(",").some((e) => e.trim() === "console")) return "console";
  return undefined;
}

let started: Promise<Telemetry | undefined> | undefined;

/**
 * Starts the SDK the environment asks for, once per process; `undefined` (and nothing loaded) when it
 * asks for none. A telemetry SDK that fails to start is logged and the server runs without it.
 */
export function startTelemetry(env: Env): Promise<Telemetry | undefined> {
  started ??= (async () => {
    const target = telemetryTarget(env);
    if (!target) return undefined;
    try {
      return target === "azure-monitor" ? await startAzureMonitor(env) : await startNodeSdk(target);
    } catch (err) {
      console.error(
        JSON.stringify({ level: "error", msg: "telemetry did not start", target, error: String(err) }),
      );
      return undefined;
    }
  })();
  return started;
}

async function startAzureMonitor(env: Env): Promise<Telemetry> {
  const [
    { useAzureMonitor, shutdownAzureMonitor },
    { ManagedIdentityCredential },
    { resourceFromAttributes },
  ] = await Promise.all([
    import("@azure/monitor-opentelemetry"),
    import("@azure/identity"),
    import("@opentelemetry/sdk-node").then((m) => m.resources),
  ]);
  const clientId = env.MANAGED_IDENTITY_CLIENT_ID?.trim();
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING,
      // Local authentication is disabled on the component: telemetry goes with an Entra token.
      credential: clientId ? new ManagedIdentityCredential({ clientId }) : undefined,
    },
    resource: resourceFromAttributes({ "service.name": SERVICE_NAME }),
    enableLiveMetrics: false,
    enablePerformanceCounters: false,
    instrumentationOptions: {
      http: { enabled: false },
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
  });
  return { target: "azure-monitor", shutdown: () => shutdownAzureMonitor() };
}

async function startNodeSdk(target: "otlp" | "console"): Promise<Telemetry> {
  const { NodeSDK, tracing, metrics, logs, resources } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    serviceName: SERVICE_NAME,
    resource: resources.resourceFromAttributes({ "service.name": SERVICE_NAME }),
    autoDetectResources: false,
    instrumentations: [],
    // OTLP: the SDK builds its exporters from the standard OTEL_* variables.
    ...(target === "console"
      ? {
          traceExporter: new tracing.ConsoleSpanExporter(),
          metricReaders: [
            new metrics.PeriodicExportingMetricReader({ exporter: new metrics.ConsoleMetricExporter() }),
          ],
          logRecordProcessors: [
            new logs.SimpleLogRecordProcessor({ exporter: new logs.ConsoleLogRecordExporter() }),
          ],
        }
      : {}),
  });
  sdk.start();
  return { target, shutdown: () => sdk.shutdown() };
}
