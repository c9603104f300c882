// The deployment `azd up` makes, as the Bicep compiler evaluates it (`bicep snapshot`): main.bicep with
// the values azd passes through main.parameters.json, and with the choices a deployer can make. The
// assertions read the predicted resources and outputs, with every name, setting and condition resolved.
// Without a Bicep CLI and without dotnet to restore one, these tests skip and say why.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { SETTINGS } from "../../api/src/config/config.ts";
import { METRIC_NAMES } from "../../api/src/core/telemetry.ts";
import { appRegistrationPermissions, graphPermissionsOf } from "../../api/src/mcp/permissions.ts";
import { tools } from "../../api/src/mcp/tools/index.ts";
import {
  type ArmTemplate,
  bicep,
  build,
  infraDir,
  type PredictedResource,
  type Snapshot,
  snapshot,
  TEST_TENANT,
} from "./toolchain.ts";

const toolchain = bicep();
const skip = toolchain.reason ? `the Bicep compiler did not run: ${toolchain.reason}` : false;

/** App settings the platform needs besides the server's own (api/src/config/config.ts SETTINGS). */
const PLATFORM_SETTINGS = [
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
];

/** Names and values that look like secrets (keys, passwords, SAS, account keys, key listing). */
const SECRET_NAME =
  /secret|password|passwd|pwd|(^|_|[a-z])key($|_|s\b)|apikey|accountkey|sas(token|_token)?$|credential(?!$)/i;
const SECRET_VALUE =
  /listKeys|listSecrets|listCredentials|listAccountSas|listServiceSas|AccountKey=|SharedAccessKey|InstrumentationKey=|\.keys\b|primaryKey|secondaryKey/i;

const ROLES: Record<string, string> = {
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
  "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
  "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
  "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
};

const VS_CODE = "aebc6443-996d-45c2-90f0-388ff96faa56";
const OTHER_TENANT = "9d7c6b5a-0000-4000-8000-00000000000f";
const DEPLOYER = "5c4d3e2f-0000-4000-8000-000000000003";

let template: ArmTemplate;
/** main.parameters.json as azd resolves it when no environment value overrides a default. */
let azdDefaults: Record<string, unknown>;
let deployed: Snapshot;

/** main.parameters.json with azd's `${NAME}` / `${NAME=default}` substituted, typed as main.bicep declares. */
function azdParameters(env: Record<string, string>): Record<string, unknown> {
  const file = JSON.parse(readFileSync(join(infraDir, "main.parameters.json"), "utf8")) as {
    parameters: Record<string, { value: unknown }>;
  };
  const out: Record<string, unknown> = {};
  for (const [name, { value }] of Object.entries(file.parameters)) {
    const text = String(value).replace(/\$\{(\w+)(?:=([^}]*))?\}/g, (_, v: string, d?: string) => {
      if (env[v] !== undefined) return env[v];
      assert.notEqual(
        d,
        undefined,
        `main.parameters.json: ${name} needs ${v}, which azd does not always set`,
      );
      return d ?? "";
    });
    const type = template.parameters[name]?.type;
    out[name] = type === "bool" ? text === "true" : type === "int" ? Number(text) : text;
  }
  return out;
}

function deploy(overrides: Record<string, unknown> = {}): Snapshot {
  return snapshot(toolchain.bicep!, { ...azdDefaults, principalId: DEPLOYER, ...overrides });
}

function all(s: Snapshot, type: string): PredictedResource[] {
  return s.predictedResources.filter((r) => r.type === type);
}

function one(s: Snapshot, type: string): PredictedResource {
  const found = all(s, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0]!;
}

function appSettings(s: Snapshot): Record<string, string> {
  const config = one(s, "Microsoft.Web/sites/config");
  assert.match(config.name ?? "", /\/appsettings$/);
  return config.properties as Record<string, string>;
}

/** `[reference('<id>', '<version>').<property>]`: the id and property, to compare references. */
function referenceTo(expression: unknown): { id: string; property: string } | undefined {
  const m = /^\[reference\('([^']+)'(?:, '[^']+')?\)\.(\w+)\]$/.exec(String(expression));
  return m ? { id: m[1]!, property: m[2]! } : undefined;
}

const appRegistrations = (s: Snapshot) => all(s, "Microsoft.Graph/applications@v1.0");

before(() => {
  if (skip) return;
  const built = build(toolchain.bicep!);
  assert.ok(built.template, `bicep build failed:\n${built.run.stdout}${built.run.stderr}`);
  template = built.template;
  azdDefaults = azdParameters({ AZURE_ENV_NAME: "dev", AZURE_LOCATION: "swedencentral" });
  deployed = deploy();
});

describe("parameters azd passes", { skip }, () => {
  test("main.parameters.json sets only declared parameters and every required one", () => {
    for (const name of Object.keys(azdDefaults)) {
      assert.ok(
        template.parameters[name],
        `main.parameters.json sets '${name}', which main.bicep does not declare`,
      );
    }
    for (const [name, p] of Object.entries(template.parameters)) {
      if (p.defaultValue === undefined)
        assert.ok(name in azdDefaults, `required parameter '${name}' is not set`);
    }
    assert.equal(azdDefaults.environmentName, "dev");
    assert.equal(azdDefaults.location, "swedencentral");
  });

  test("location is limited to the regions that offer Flex Consumption", () => {
    const allowed = template.parameters.location?.allowedValues ?? [];
    for (const region of [
      "eastus",
      "eastus2",
      "westeurope",
      "northeurope",
      "swedencentral",
      "australiaeast",
    ]) {
      assert.ok(allowed.includes(region), region);
    }
    for (const region of ["japanwest", "westindia", "eastus2euap"])
      assert.ok(!allowed.includes(region), region);
    assert.throws(() => deploy({ location: "japanwest" }), /BCP033/);
  });
});

describe("the Function App", { skip }, () => {
  test("runs on Flex Consumption, Node 22, Linux, as the user-assigned identity, tagged for azd", () => {
    const plan = one(deployed, "Microsoft.Web/serverfarms");
    assert.deepEqual(plan.sku, { name: "FC1", tier: "FlexConsumption" });
    assert.equal(plan.properties?.reserved, true);
    const site = one(deployed, "Microsoft.Web/sites");
    assert.equal(site.kind, "functionapp,linux");
    assert.equal(site.location, "swedencentral");
    assert.equal(site.tags?.["azd-service-name"], "api");
    assert.equal(site.tags?.["azd-env-name"], "dev");
    const identity = one(deployed, "Microsoft.ManagedIdentity/userAssignedIdentities");
    assert.equal(site.identity?.type, "UserAssigned");
    assert.deepEqual(Object.keys(site.identity?.userAssignedIdentities ?? {}), [identity.id]);
    const config = site.properties?.functionAppConfig;
    assert.deepEqual(config.runtime, { name: "node", version: "22" });
    assert.equal(config.deployment.storage.type, "blobContainer");
    assert.deepEqual(config.deployment.storage.authentication, {
      type: "UserAssignedIdentity",
      userAssignedIdentityResourceId: identity.id,
    });
    const container = one(deployed, "Microsoft.Storage/storageAccounts/blobServices/containers");
    assert.ok(
      String(config.deployment.storage.value).includes(String(container.name).split("/").pop() ?? "-"),
    );
    assert.equal(site.properties?.httpsOnly, true);
    for (const policy of all(deployed, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")) {
      assert.equal(policy.properties?.allow, false, `${policy.name}: no publishing with a password`);
    }
  });

  test("app settings are exactly the server's SETTINGS plus the platform's", () => {
    const keys = Object.keys(appSettings(deployed)).sort();
    assert.deepEqual(keys, [...SETTINGS.map((s) => s.name), ...PLATFORM_SETTINGS].sort());
  });

  test("the settings name this deployment's own resources", () => {
    const settings = appSettings(deployed);
    const site = one(deployed, "Microsoft.Web/sites");
    const identity = one(deployed, "Microsoft.ManagedIdentity/userAssignedIdentities");
    const account = one(deployed, "Microsoft.Storage/storageAccounts");
    const table = one(deployed, "Microsoft.Storage/storageAccounts/tableServices/tables");
    assert.equal(settings.PUBLIC_URL, `https://${site.name}.azurewebsites.net`);
    assert.equal(settings.AUTH_MODE, "proxy");
    assert.equal(settings.ENTRA_TENANT_ID, TEST_TENANT);
    assert.equal(settings.ENTRA_ALLOWED_TENANTS, TEST_TENANT);
    assert.equal(settings.GRAPH_ADMIN_CONSENT, "false");
    assert.equal(settings.CIMD_ALLOW_LOOPBACK_HTTP, "false");
    assert.deepEqual(referenceTo(settings.MANAGED_IDENTITY_CLIENT_ID), {
      id: identity.id,
      property: "clientId",
    });
    assert.deepEqual(referenceTo(settings.AzureWebJobsStorage__clientId), {
      id: identity.id,
      property: "clientId",
    });
    assert.equal(settings.AzureWebJobsStorage__credential, "managedidentity");
    assert.equal(settings.AzureWebJobsStorage__accountName, account.name);
    assert.match(
      settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? "",
      /ClientId=\{0\};Authorization=AAD/,
    );
    assert.ok(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING?.includes(identity.id!));
    // Proxy state goes to the table this deployment creates, in the account the identity has roles on.
    assert.equal(table.name, `${account.name}/default/${settings.STORAGE_TABLE_NAME}`);
    assert.match(
      settings.STORAGE_TABLE_ENDPOINT ?? "",
      new RegExp(`${account.name}'.*primaryEndpoints\\.table`),
    );
    assert.match(settings.ENTRA_CLIENT_ID ?? "", /^\[reference\('app'\)\.appId\]$/);
  });
});

describe("no secrets", { skip }, () => {
  test("nothing lists keys, and no setting or output is named or typed like a secret", () => {
    const text = JSON.stringify(deployed);
    assert.doesNotMatch(text, SECRET_VALUE);
    assert.doesNotMatch(JSON.stringify(template), SECRET_VALUE);
    for (const name of Object.keys(appSettings(deployed))) assert.doesNotMatch(name, SECRET_NAME, name);
    for (const [name, o] of Object.entries(template.outputs)) {
      assert.doesNotMatch(name, SECRET_NAME, name);
      assert.doesNotMatch(o.type, /secure/i, name);
    }
  });

  test("the secret patterns do catch secrets", () => {
    for (const name of ["STORAGE_KEY", "clientSecret", "adminPassword", "apiKey", "AccountKey"]) {
      assert.match(name, SECRET_NAME, name);
    }
    for (const value of ["[listKeys(resourceId('x'), '2023-01-01').keys[0].value]", "AccountKey=abc"]) {
      assert.match(value, SECRET_VALUE, value);
    }
    for (const name of [
      "MANAGED_IDENTITY_CLIENT_ID",
      "ENTRA_APP_ID_URI",
      "AzureWebJobsStorage__credential",
    ]) {
      assert.doesNotMatch(name, SECRET_NAME, name);
    }
  });

  test("storage refuses keys and public blobs; Application Insights refuses key-only ingestion", () => {
    const account = one(deployed, "Microsoft.Storage/storageAccounts");
    assert.equal(account.properties?.allowSharedKeyAccess, false);
    assert.equal(account.properties?.allowBlobPublicAccess, false);
    assert.equal(account.properties?.minimumTlsVersion, "TLS1_2");
    assert.equal(
      one(deployed, "Microsoft.Storage/storageAccounts/blobServices/containers").properties?.publicAccess,
      "None",
    );
    assert.equal(one(deployed, "Microsoft.Insights/components").properties?.DisableLocalAuth, true);
  });
});

describe("alerts", { skip }, () => {
  const rules = (s: Snapshot) => all(s, "Microsoft.Insights/scheduledQueryRules");
  const rule = (s: Snapshot, metric: string) => {
    const found = rules(s).filter((r) =>
      r.properties?.criteria?.allOf?.some((c: { query?: string }) => c.query?.includes(`"${metric}"`)),
    );
    assert.equal(found.length, 1, `one alert rule on ${metric}`);
    return { ...found[0]!, properties: found[0]!.properties ?? {} };
  };

  test("a refresh-token replay alerts at once, on Application Insights, at severity 1", () => {
    const insights = one(deployed, "Microsoft.Insights/components");
    const replay = rule(deployed, METRIC_NAMES.refreshReplays);
    assert.equal(replay.kind, "LogAlert");
    assert.deepEqual(replay.properties.scopes, [insights.id]);
    assert.equal(replay.properties.enabled, true);
    assert.equal(replay.properties.severity, 1);
    assert.equal(replay.properties.evaluationFrequency, "PT5M");
    const [criterion] = replay.properties.criteria.allOf;
    assert.match(criterion.query, /^customMetrics \| where name == "mcp\.auth\.refresh_replays"/);
    assert.equal(criterion.metricMeasureColumn, "replays");
    assert.match(criterion.query, /summarize replays = sum\(valueSum\)/);
    assert.equal(criterion.operator, "GreaterThan");
    assert.equal(criterion.threshold, 0);
  });

  test("repeated On-Behalf-Of failures alert, per reason, over a 15-minute window", () => {
    const insights = one(deployed, "Microsoft.Insights/components");
    const obo = rule(deployed, METRIC_NAMES.oboFailures);
    assert.deepEqual(obo.properties.scopes, [insights.id]);
    assert.equal(obo.properties.windowSize, "PT15M");
    const [criterion] = obo.properties.criteria.allOf;
    assert.equal(criterion.metricMeasureColumn, "failures");
    assert.equal(criterion.operator, "GreaterThan");
    assert.ok(criterion.threshold >= 1);
    assert.deepEqual(
      criterion.dimensions.map((d: { name: string }) => d.name),
      ["reason"],
    );
  });

  test("only these two rules, notifying no one unless an action group is given", () => {
    assert.equal(rules(deployed).length, 2);
    for (const r of rules(deployed)) assert.deepEqual(r.properties?.actions, {});
  });
});

describe("role assignments", { skip }, () => {
  function assignments(s: Snapshot) {
    return all(s, "Microsoft.Authorization/roleAssignments").map((r) => {
      const roleId =
        String(r.properties?.roleDefinitionId).match(/roleDefinitions\/([0-9a-f-]{36})/)?.[1] ?? "";
      return {
        role: ROLES[roleId] ?? roleId,
        // The id is resolved, or `[extensionResourceId('<scope>', ...)]` when the name needs a reference().
        scope:
          /^\[extensionResourceId\('([^']+)'/.exec(String(r.id))?.[1] ??
          String(r.id).split("/providers/Microsoft.Authorization/")[0]!,
        principal: referenceTo(r.properties?.principalId)?.id ?? String(r.properties?.principalId),
        principalType: String(r.properties?.principalType),
        name: String(r.name),
      };
    });
  }

  test("the identity gets storage data roles and Monitoring Metrics Publisher; the deployer the storage roles", () => {
    const identity = one(deployed, "Microsoft.ManagedIdentity/userAssignedIdentities").id!;
    const account = one(deployed, "Microsoft.Storage/storageAccounts").id!;
    const appi = one(deployed, "Microsoft.Insights/components").id!;
    const storageRoles = [
      "Storage Blob Data Owner",
      "Storage Queue Data Contributor",
      "Storage Table Data Contributor",
    ];
    const got = assignments(deployed).map(({ name: _n, ...a }) => a);
    const expected = [
      ...storageRoles.map((role) => ({
        role,
        scope: account,
        principal: identity,
        principalType: "ServicePrincipal",
      })),
      {
        role: "Monitoring Metrics Publisher",
        scope: appi,
        principal: identity,
        principalType: "ServicePrincipal",
      },
      ...storageRoles.map((role) => ({ role, scope: account, principal: DEPLOYER, principalType: "User" })),
    ];
    const key = (a: (typeof expected)[number]) => JSON.stringify(a);
    assert.deepEqual(got.map(key).sort(), expected.map(key).sort());
  });

  test("names are deterministic, so a redeployment updates instead of duplicating", () => {
    const again = deploy();
    assert.deepEqual(
      assignments(again).map((a) => a.name),
      assignments(deployed).map((a) => a.name),
    );
    for (const a of assignments(deployed)) assert.match(a.name, /^(\[guid\(|[0-9a-f-]{36}$)/, a.name);
  });

  test("a pipeline's service principal is assigned as a ServicePrincipal; no deployer, no deployer roles", () => {
    const pipeline = assignments(deploy({ principalType: "ServicePrincipal" })).filter(
      (a) => a.principal === DEPLOYER,
    );
    assert.equal(pipeline.length, 3);
    for (const a of pipeline) assert.equal(a.principalType, "ServicePrincipal");
    const none = assignments(deploy({ principalId: "" })).filter((a) => a.principal === "");
    assert.deepEqual(none, []);
  });
});

describe("the Entra app registration", { skip }, () => {
  test("exposes user_impersonation under api://<appId>, v2 tokens, VS Code pre-authorized, single-tenant", () => {
    const [first, second] = appRegistrations(deployed);
    assert.ok(first && second, "the registration and its identifier-URI pass");
    assert.equal(second.properties?.uniqueName, first.properties?.uniqueName);
    assert.deepEqual(second.properties?.identifierUris, ["[format('api://{0}', reference('app').appId)]"]);
    for (const app of [first, second]) {
      const props = app.properties!;
      assert.equal(props.signInAudience, "AzureADMyOrg");
      assert.equal(props.serviceManagementReference, null);
      assert.equal(props.api.requestedAccessTokenVersion, 2);
      const [scope] = props.api.oauth2PermissionScopes;
      assert.deepEqual([scope.value, scope.type, scope.isEnabled], ["user_impersonation", "User", true]);
      assert.deepEqual(props.api.preAuthorizedApplications, [
        { appId: VS_CODE, delegatedPermissionIds: [scope.id] },
      ]);
      assert.equal(props.passwordCredentials, undefined, "no client secret");
      assert.equal(props.keyCredentials, undefined, "no certificate");
      assert.deepEqual(props.web.implicitGrantSettings, {
        enableAccessTokenIssuance: false,
        enableIdTokenIssuance: false,
      });
    }
  });

  test("registers the proxy's callback, the consent return page and the Connected apps sign-in on the Function App's origin", () => {
    const publicUrl = appSettings(deployed).PUBLIC_URL;
    for (const app of appRegistrations(deployed)) {
      assert.deepEqual(app.properties?.web.redirectUris, [
        `${publicUrl}/oauth/callback`,
        `${publicUrl}/oauth/consent-complete`,
        `${publicUrl}/connected-apps/callback`,
      ]);
    }
  });

  test("declares the MCP.Admin app role for users, with the same id on both passes", () => {
    const roles = appRegistrations(deployed).map((app) => app.properties?.appRoles);
    assert.equal(roles.length, 2);
    for (const r of roles) {
      assert.equal(r.length, 1);
      assert.deepEqual([r[0].value, r[0].allowedMemberTypes, r[0].isEnabled], ["MCP.Admin", ["User"], true]);
      assert.ok(r[0].id, "a stable id");
    }
    assert.deepEqual(roles[0], roles[1]);
  });

  test("asks for exactly the Graph permissions the tools declare, plus openid, profile and offline_access", () => {
    const generated = appRegistrationPermissions(graphPermissionsOf(tools));
    for (const app of appRegistrations(deployed)) {
      assert.deepEqual(app.properties?.requiredResourceAccess, generated.requiredResourceAccess);
    }
    const [app] = appRegistrations(deployed);
    assert.deepEqual(app?.properties?.requiredResourceAccess, [
      {
        resourceAppId: "00000003-0000-0000-c000-000000000000",
        resourceAccess: [
          { id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", type: "Scope" }, // User.Read
          { id: "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", type: "Scope" }, // Mail.Read
          { id: "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42", type: "Scope" }, // Calendars.Read
          { id: "ba47897c-39ec-4d83-8086-ee8256fa737d", type: "Scope" }, // People.Read
          { id: "37f7f235-527c-4136-accd-4a02d197296e", type: "Scope" }, // openid
          { id: "14dad69e-099b-42c9-810b-d002981feec1", type: "Scope" }, // profile
          { id: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", type: "Scope" }, // offline_access
        ],
      },
    ]);
  });

  test("the federated credential trusts exactly the identity the Function App runs as", () => {
    const fic = one(deployed, "Microsoft.Graph/applications/federatedIdentityCredentials@v1.0").properties!;
    const identity = one(deployed, "Microsoft.ManagedIdentity/userAssignedIdentities").id;
    const [app] = appRegistrations(deployed);
    assert.equal(fic.name, `${app?.properties?.uniqueName}/function-app-managed-identity`);
    assert.deepEqual(fic.audiences, ["api://AzureADTokenExchange"]);
    assert.equal(
      fic.issuer,
      `[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, '${TEST_TENANT}')]`,
    );
    assert.deepEqual(referenceTo(fic.subject), { id: identity, property: "principalId" });
    one(deployed, "Microsoft.Graph/servicePrincipals@v1.0");
  });

  test("several tenants make it multi-tenant, with the server's tenant list as given", () => {
    const s = deploy({ allowedTenants: `${TEST_TENANT.toUpperCase()}, ${OTHER_TENANT}` });
    for (const app of appRegistrations(s))
      assert.equal(app.properties?.signInAudience, "AzureADMultipleOrgs");
    assert.equal(appSettings(s).ENTRA_ALLOWED_TENANTS, `${TEST_TENANT},${OTHER_TENANT}`);
    const home = deploy({ allowedTenants: ` ${TEST_TENANT.toUpperCase()} ` });
    for (const app of appRegistrations(home)) assert.equal(app.properties?.signInAudience, "AzureADMyOrg");
    assert.equal(appSettings(home).ENTRA_ALLOWED_TENANTS, TEST_TENANT);
  });

  test("a service management reference and the pre-authorized clients come from the environment", () => {
    const reference = "4c1f3b2a-0000-4000-8000-00000000abcd";
    const client = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    const s = deploy({
      serviceManagementReference: reference,
      preAuthorizedClientIds: `${VS_CODE}, ${client}`,
    });
    for (const app of appRegistrations(s)) {
      assert.equal(app.properties?.serviceManagementReference, reference);
      assert.deepEqual(
        app.properties?.api.preAuthorizedApplications.map((a: { appId: string }) => a.appId),
        [VS_CODE, client],
      );
    }
    for (const app of appRegistrations(deploy({ preAuthorizedClientIds: "" }))) {
      assert.deepEqual(app.properties?.api.preAuthorizedApplications, []);
    }
  });

  test("tenant-wide consent only when asked for, and then the sign-in stops asking users", () => {
    assert.equal(all(deployed, "Microsoft.Graph/oauth2PermissionGrants@v1.0").length, 0);
    const s = deploy({ grantAdminConsent: true });
    const grant = one(s, "Microsoft.Graph/oauth2PermissionGrants@v1.0").properties!;
    assert.equal(grant.consentType, "AllPrincipals");
    assert.equal(grant.scope, "User.Read Mail.Read Calendars.Read People.Read openid profile offline_access");
    assert.equal(grant.scope, appRegistrationPermissions(graphPermissionsOf(tools)).adminConsentScope);
    assert.equal(appSettings(s).GRAPH_ADMIN_CONSENT, "true");
  });
});

describe("the Static Web App", { skip }, () => {
  test("Free by default, tagged for azd as 'web', in a Static Web Apps region, production only", () => {
    const swa = one(deployed, "Microsoft.Web/staticSites");
    assert.deepEqual(swa.sku, { name: "Free", tier: "Free" });
    assert.equal(swa.tags?.["azd-service-name"], "web");
    // swedencentral has no Static Web Apps control plane: the documented fallback.
    assert.equal(swa.location, "eastus2");
    assert.equal(one(deploy({ location: "westeurope" }), "Microsoft.Web/staticSites").location, "westeurope");
    // No preview environments: `swa deploy` must target production (swa-cli.config.json, azure.yaml).
    assert.equal(swa.properties?.stagingEnvironmentPolicy, "Disabled");
    assert.equal(swa.properties?.provider, "Custom");
  });
});

describe("outputs and tags", { skip }, () => {
  test("outputs are UPPER_SNAKE and give azd and the postprovision hook what they need", () => {
    const out = deployed.outputs as Record<string, string>;
    for (const name of Object.keys(out)) assert.match(name, /^[A-Z][A-Z0-9_]*$/, name);
    const site = one(deployed, "Microsoft.Web/sites");
    const rg = one(deployed, "Microsoft.Resources/resourceGroups");
    assert.equal(out.API_BASE_URL, `https://${site.name}.azurewebsites.net`);
    assert.equal(out.MCP_ENDPOINT, `https://${site.name}.azurewebsites.net/api/mcp`);
    assert.equal(out.AUTH_MODE, "proxy");
    assert.equal(out.AZURE_TENANT_ID, TEST_TENANT);
    assert.equal(out.AZURE_RESOURCE_GROUP, "rg-dev");
    assert.equal(rg.name, "rg-dev");
    assert.equal(out.SERVICE_API_NAME, site.name);
    assert.equal(out.SERVICE_WEB_NAME, one(deployed, "Microsoft.Web/staticSites").name);
    assert.match(out.LANDING_PAGE_URL ?? "", /defaultHostname/);
    assert.equal(out.ENTRA_CLIENT_ID, "[reference('app').appId]");
  });

  test("every resource with a location carries azd's environment tag", () => {
    for (const r of deployed.predictedResources) {
      if (!r.location) continue;
      assert.equal(r.tags?.["azd-env-name"], "dev", `${r.type} ${r.name}`);
    }
  });
});
