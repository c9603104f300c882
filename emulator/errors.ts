// AADSTS catalogue and Entra's error envelope (reference §5.6/§5.7).

export interface AadErrorSpec {
  error: string;
  message: (p: Record<string, string>) => string;
  suberror?: string;
  claims?: string;
  /** Default 400, 401 for invalid_client. */
  status?: number;
  /** Some errors carry no error_uri in captures (65001, 50079). */
  noErrorUri?: boolean;
}

const p = (v: string | undefined, fallback = "") => v ?? fallback;
export const CA_CLAIMS =
  '{"access_token":{"capolids":{"essential":true,"values":["59866338-815e-41e6-9613-0ec6218e5c3d"]}}}';

export const AADSTS: Record<number, AadErrorSpec> = {
  28000: {
    error: "invalid_scope",
    message: (x) =>
      `Provided value for the input parameter scope '${p(x.scope)}' is not valid because it contains more than one resource. Scope ${p(x.scope)} is not valid.`,
  },
  50011: {
    error: "invalid_client",
    message: (x) =>
      `The redirect URI '${p(x.redirectUri)}' specified in the request does not match the redirect URIs configured for the application '${p(x.clientId)}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  },
  50013: {
    error: "invalid_grant",
    message: (x) => `Assertion failed signature validation. [Reason - ${p(x.reason)}]`,
  },
  50027: { error: "invalid_request", message: () => "JWT token is invalid or malformed." },
  50058: {
    error: "login_required",
    message: () => "A silent sign-in request was sent but no user is signed in.",
  },
  50076: {
    error: "invalid_grant",
    suberror: "basic_action",
    claims: CA_CLAIMS,
    message: (x) =>
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${p(x.resource, "00000003-0000-0000-c000-000000000000")}'.`,
  },
  50079: {
    error: "interaction_required",
    suberror: "basic_action",
    claims: CA_CLAIMS,
    noErrorUri: true,
    message: (x) =>
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '${p(x.resource, "00000003-0000-0000-c000-000000000000")}'.`,
  },
  53003: {
    error: "invalid_grant",
    suberror: "message_only",
    claims: CA_CLAIMS,
    message: () =>
      "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
  },
  50148: {
    error: "invalid_grant",
    message: () =>
      "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
  },
  54005: {
    error: "invalid_grant",
    message: () =>
      "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
  },
  50173: {
    error: "invalid_grant",
    message: (x) =>
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${p(x.issued)}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${p(x.validFrom)}'.`,
  },
  65001: {
    error: "invalid_grant",
    suberror: "consent_required",
    noErrorUri: true,
    message: (x) =>
      `The user or administrator has not consented to use the application with ID '${p(x.clientId)}' named '${p(x.appName)}'. Send an interactive authorization request for this user and resource.`,
  },
  65004: { error: "access_denied", message: () => "User declined to consent to access the app." },
  70000: {
    error: "invalid_grant",
    message: (x) => `Provided grant is invalid or malformed. ${p(x.detail)}`.trim(),
  },
  70003: { error: "unsupported_grant_type", message: () => "The app requested an unsupported grant type." },
  70008: {
    error: "invalid_grant",
    message: () =>
      "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
  },
  70011: {
    error: "invalid_scope",
    message: (x) =>
      `The provided value for the input parameter 'scope' is not valid. The scope ${p(x.scope)} is not valid.`,
  },
  70021: {
    error: "invalid_request",
    message: (x) =>
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${p(x.iss)}'. Assertion Subject: '${p(x.sub)}'. Assertion Audience: '${p(x.aud)}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`,
  },
  // Captured on a 503 from the token endpoint (Azure/azure-sdk-for-python#14241); the emulator's
  // answer for every injected 5xx.
  90033: {
    error: "temporarily_unavailable",
    status: 503,
    message: () => "A transient error has occurred. Please try again.",
  },
  // Entra's throttling code ("TenantThrottlingError"); the body of a throttled token request is not
  // captured, so the emulator's 429 uses this in the usual envelope.
  90055: {
    error: "temporarily_unavailable",
    status: 429,
    message: () => "There are too many incoming requests. Please try again later.",
  },
  90002: {
    error: "invalid_tenant",
    message: (x) =>
      `Tenant '${p(x.tenant)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  },
  240002: {
    error: "invalid_grant",
    message: () => "The id_token can't be used as urn:ietf:params:oauth:grant-type:jwt-bearer grant.",
  },
  500011: {
    error: "invalid_resource",
    message: (x) =>
      `The resource principal named ${p(x.resource)} was not found in the tenant named ${p(x.tenant)}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  },
  500131: {
    error: "invalid_grant",
    message: (x) =>
      `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${p(x.aud)}' and the expected audience is '${p(x.clientId)}' or one of the Application Uris of this application with App ID '${p(x.clientId)}'. The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.`,
  },
  500133: {
    error: "invalid_grant",
    message: (x) =>
      `Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: ${p(x.now)}, expiry time of assertion ${p(x.exp)}.`,
  },
  650053: {
    error: "invalid_client",
    message: (x) =>
      `The application '${p(x.appName)}' asked for scope '${p(x.scope)}' that doesn't exist on the resource '${p(x.resource)}'. Contact the app vendor.`,
  },
  700016: {
    error: "unauthorized_client",
    message: (x) =>
      `Application with identifier '${p(x.clientId)}' was not found in the directory '${p(x.tenant)}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  },
  700024: {
    error: "invalid_client",
    message: (x) =>
      `Client assertion is not within its valid time range. Current time: ${p(x.now)}, assertion valid from ${p(x.nbf)}, expiry time of assertion ${p(x.exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
  },
  700025: {
    error: "invalid_client",
    message: () => "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
  },
  700027: {
    error: "invalid_client",
    message: (x) => `Client assertion failed signature validation. ${p(x.detail)}`.trim(),
  },
  700054: {
    error: "unsupported_response_type",
    message: () => "response_type 'id_token' is not enabled for the application.",
  },
  700082: {
    error: "invalid_grant",
    suberror: "bad_token",
    message: (x) =>
      `The refresh token has expired due to inactivity. The token was issued on ${p(x.issued)} and was inactive for 90.00:00:00.`,
  },
  700211: {
    error: "invalid_client",
    message: (x) =>
      `No matching federated identity record found for presented assertion issuer '${p(x.iss)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`,
  },
  700212: {
    error: "invalid_client",
    message: (x) =>
      `No matching federated identity record found for presented assertion audience '${p(x.aud)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`,
  },
  700213: {
    error: "invalid_client",
    message: (x) =>
      `No matching federated identity record found for presented assertion subject '${p(x.sub)}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
  },
  700229: {
    error: "invalid_client",
    message: () =>
      "Forbidden token type. Only app-only tokens may be used as Federated Identity Credentials for AAD issuer.",
  },
  900144: {
    error: "invalid_request",
    message: (x) => `The request body must contain the following parameter: '${p(x.name)}'.`,
  },
  901002: { error: "invalid_request", message: () => "The 'resource' request parameter is not supported." },
  1002012: {
    error: "invalid_scope",
    message: (x) =>
      `The provided value for scope ${p(x.scope)} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  },
  7000215: {
    error: "invalid_client",
    message: () =>
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
  },
  7000218: {
    error: "invalid_client",
    message: () =>
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  9002313: { error: "invalid_grant", message: () => "Invalid request. Request is malformed or invalid." },
  9010010: {
    error: "invalid_target",
    message: () => "The resource parameter provided in the request doesn't match with the requested scopes.",
  },
};

export function entraTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/** "2024-06-20T11:53:16.0381024Z" style (7 fractional digits) used inside messages. */
export function entraTime7(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}

export interface AadErrorResult {
  status: number;
  body: Record<string, unknown>;
  code: number;
}

export function aadError(
  code: number,
  params: Record<string, string>,
  ids: { traceId: string; correlationId: string; now: number },
): AadErrorResult {
  const spec = AADSTS[code] ?? { error: "invalid_request", message: () => "Unknown error." };
  const timestamp = entraTimestamp(ids.now);
  const description = `AADSTS${code}: ${spec.message(params)} Trace ID: ${ids.traceId} Correlation ID: ${ids.correlationId} Timestamp: ${timestamp}`;
  const body: Record<string, unknown> = {
    error: spec.error,
    error_description: description,
    error_codes: [code],
    timestamp,
    trace_id: ids.traceId,
    correlation_id: ids.correlationId,
  };
  if (!spec.noErrorUri) body.error_uri = `https://login.microsoftonline.com/error?code=${code}`;
  if (spec.suberror) body.suberror = spec.suberror;
  if (spec.claims) body.claims = params.claims ?? spec.claims;
  const status = spec.status ?? (spec.error === "invalid_client" ? 401 : 400);
  return { status, body, code };
}
