/**
 * Traces, metrics and audit records through the OpenTelemetry API, and nothing else: until a host
 * registers an SDK (`hosts/telemetry.ts`: Azure Monitor, OTLP or the console), every call here is the
 * API's no-op, so a server without telemetry pays for a few empty function calls per request.
 *
 * What may go into a span, a metric or a record: names of operations, reasons from `failure.ts`, kinds of
 * stored rows, status codes, tenant and object ids, client ids, tool names, durations. Never a token, a
 * code, a key, a URL query, an error message from upstream, or Graph content: the telemetry test runs a
 * real sign-in and tool calls and looks for each of those in everything exported.
 *
 * @module
 */
import {
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { Failure } from "./failure.ts";

export const INSTRUMENTATION_NAME = "entra-mcp-server";

// A proxy tracer: it forwards to whatever provider a host registers later (or to the no-op one).
const tracer = trace.getTracer(INSTRUMENTATION_NAME);

export { SpanKind };

/** Why an operation failed, as a bounded value: a `Failure` reason, or the error's class name. */
export function errorType(err: unknown): string {
  if (err instanceof Failure) return err.reason;
  if (err instanceof Error) return err.name || "Error";
  return "unknown";
}

/**
 * Runs `fn` in a span named `name` (a child of the current one). A thrown error marks the span as failed
 * with its `errorType` only: messages and stacks can quote upstream text, so they stay in the logs.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute("error.type", errorType(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The span the current operation runs in (a non-recording one when there is none). */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/** The metric names, as the deployment's alert rules query them (infra/app/monitoring.bicep). */
export const METRIC_NAMES = {
  authFailures: "mcp.auth.failures",
  oboCache: "mcp.obo.cache",
  oboFailures: "mcp.obo.failures",
  rateLimitRefusals: "mcp.ratelimit.refusals",
  refreshReplays: "mcp.auth.refresh_replays",
  toolCalls: "mcp.tool.calls",
  toolDuration: "mcp.tool.duration",
} as const;

interface Instruments {
  authFailures: Counter;
  oboCache: Counter;
  oboFailures: Counter;
  rateLimitRefusals: Counter;
  refreshReplays: Counter;
  toolCalls: Counter;
  toolDuration: Histogram;
}

let instrumentsFor: MeterProvider | undefined;
let instruments: Instruments | undefined;

/**
 * The instruments of the meter provider registered now. The metrics API has no proxy meter (a meter
 * taken before a host registers its provider would stay a no-op), so they are rebuilt when it changes.
 */
function meters(): Instruments {
  const provider = metrics.getMeterProvider();
  if (!instruments || provider !== instrumentsFor) {
    const meter = provider.getMeter(INSTRUMENTATION_NAME);
    instrumentsFor = provider;
    instruments = {
      authFailures: meter.createCounter(METRIC_NAMES.authFailures, {
        description: "Refused tokens, codes and refresh tokens, by reason",
      }),
      oboCache: meter.createCounter(METRIC_NAMES.oboCache, {
        description:
          "Graph token look-ups in the On-Behalf-Of cache: hit, miss (an exchange), joined (waited for one)",
      }),
      oboFailures: meter.createCounter(METRIC_NAMES.oboFailures, {
        description: "On-Behalf-Of exchanges Entra refused or did not answer, by reason",
      }),
      rateLimitRefusals: meter.createCounter(METRIC_NAMES.rateLimitRefusals, {
        description: "Requests refused by a rate limit, by limiter",
      }),
      refreshReplays: meter.createCounter(METRIC_NAMES.refreshReplays, {
        description:
          "Refresh tokens presented again after rotation (the grant is revoked): a token-theft signal",
      }),
      toolCalls: meter.createCounter(METRIC_NAMES.toolCalls, {
        description: "Tool calls, by tool and outcome",
      }),
      toolDuration: meter.createHistogram(METRIC_NAMES.toolDuration, {
        description: "Tool call duration",
        unit: "ms",
      }),
    };
  }
  return instruments;
}

/** Where an authentication failure happened: the bearer gate, or the token endpoint. */
export type AuthStage = "bearer" | "token_endpoint" | "callback";

export const telemetry = {
  authFailure(reason: string, stage: AuthStage): void {
    meters().authFailures.add(1, { "mcp.auth.failure_reason": reason, "mcp.auth.stage": stage });
  },
  oboCache(result: "hit" | "miss" | "joined"): void {
    meters().oboCache.add(1, { "mcp.obo.cache_result": result });
  },
  oboFailure(reason: string): void {
    meters().oboFailures.add(1, { "mcp.obo.failure_reason": reason });
  },
  rateLimitRefusal(limiter: string): void {
    meters().rateLimitRefusals.add(1, { "mcp.ratelimit.limiter": limiter });
  },
  refreshReplay(): void {
    meters().refreshReplays.add(1);
  },
};

/** Who called which tool, and how it went: one per tool call. */
export interface ToolAudit {
  tool: string;
  tenantId: string;
  objectId: string;
  clientId?: string;
  /** `ok`, `tool_error` (the tool answered `isError`), a `Failure` reason, or `error` (a bug). */
  outcome: string;
  durationMs: number;
  correlationId?: string;
}

const auditLogger = logs.getLogger(INSTRUMENTATION_NAME);

/** The audit record of a tool call as OpenTelemetry sees it: a metric, a span event and a log record. */
export function auditToolCall(audit: ToolAudit): void {
  const attributes: Attributes = {
    "mcp.tool.name": audit.tool,
    "mcp.tool.outcome": audit.outcome,
    "enduser.tenant_id": audit.tenantId,
    "enduser.id": audit.objectId,
    "mcp.client.id": audit.clientId ?? "",
    "mcp.tool.duration_ms": audit.durationMs,
    ...(audit.correlationId ? { "mcp.correlation_id": audit.correlationId } : {}),
  };
  const m = meters();
  m.toolCalls.add(1, { "mcp.tool.name": audit.tool, "mcp.tool.outcome": audit.outcome });
  m.toolDuration.record(audit.durationMs, { "mcp.tool.name": audit.tool });
  trace.getActiveSpan()?.addEvent("mcp.tool.call", attributes);
  auditLogger.emit({
    eventName: "mcp.tool.call",
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    body: "tool call",
    attributes,
  });
}

/** Who revoked which grant, and how: one per revocation (Connected apps page or administrators' endpoint). */
export interface GrantRevocationAudit {
  actorTenantId: string;
  actorObjectId: string;
  /** `user` (their own grant) or `admin` (someone else's). */
  actorRole: "user" | "admin";
  via: "page" | "api";
  grantId: string;
  tenantId: string;
  objectId: string;
  clientId: string;
}

/** The audit record of a grant revocation as OpenTelemetry sees it: a span event and a log record. */
export function auditGrantRevocation(audit: GrantRevocationAudit): void {
  const attributes: Attributes = {
    "mcp.grant.id": audit.grantId,
    "mcp.grant.revoked_by.tenant_id": audit.actorTenantId,
    "mcp.grant.revoked_by.id": audit.actorObjectId,
    "mcp.grant.revoked_by.role": audit.actorRole,
    "mcp.grant.revoked_via": audit.via,
    "enduser.tenant_id": audit.tenantId,
    "enduser.id": audit.objectId,
    "mcp.client.id": audit.clientId,
  };
  trace.getActiveSpan()?.addEvent("mcp.grant.revoked", attributes);
  auditLogger.emit({
    eventName: "mcp.grant.revoked",
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    body: "grant revoked",
    attributes,
  });
}
