// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are Bicep source, whose interpolation is ${...}.
// The deployment's wiring, checked structurally: modules and their parameters, the parameters file, the
// Function App's settings against the server's SETTINGS, no secrets anywhere, the secretless Entra trust
// (federated credential → managed identity), and the azd contract (tags, outputs, azure.yaml paths).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, describe, test } from "node:test";
import type { Node } from "web-tree-sitter";
import { parse as parseYaml } from "yaml";
import { SETTINGS } from "../../api/src/config/config.ts";
import type { BicepFile, ResourceDecl } from "./bicep.ts";
import {
  expr,
  infraDir,
  loadAllBicep,
  loadBicep,
  modules,
  objectEntries,
  objectGet,
  outputs,
  params,
  repoRoot,
  resources,
  stringLiteral,
  variables,
} from "./bicep.ts";

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

let main: BicepFile;
let api: BicepFile;
let entra: BicepFile;
let identity: BicepFile;
let storage: BicepFile;
let rbac: BicepFile;
let web: BicepFile;
let all: BicepFile[];

before(async () => {
  all = await loadAllBicep();
  const load = (p: string) => loadBicep(join(infraDir, p));
  [main, api, entra, identity, storage, rbac, web] = await Promise.all(
    [
      "main.bicep",
      "app/api.bicep",
      "app/entra.bicep",
      "app/identity.bicep",
      "app/storage.bicep",
      "app/rbac.bicep",
      "app/web.bicep",
    ].map(load),
  );
});

function resourceOfType(file: BicepFile, type: string, pick?: (r: ResourceDecl) => boolean): ResourceDecl {
  const found = resources(file).filter((r) => r.type.split("@")[0] === type && (!pick || pick(r)));
  assert.equal(
    found.length,
    1,
    `${file.name}: expected one ${type}${pick ? " (matching)" : ""}, found ${found.length}`,
  );
  return found[0]!;
}

function moduleCall(symbol: string) {
  const m = modules(main).find((x) => x.symbol === symbol);
  assert.ok(m, `main.bicep has no module '${symbol}'`);
  return m;
}

/** The expression main.bicep passes for a module parameter. */
function moduleArg(symbol: string, param: string): string {
  const value = objectGet(objectGet(moduleCall(symbol).body, "params"), param);
  assert.ok(value, `main.bicep: module ${symbol} does not pass '${param}'`);
  return expr(value);
}

function get(obj: Node | null, ...path: string[]): Node | null {
  let n = obj;
  for (const key of path) n = objectGet(n, key);
  return n;
}

function appSettings(): Array<{ key: string; value: string }> {
  const config = resourceOfType(
    api,
    "Microsoft.Web/sites/config",
    (r) => stringLiteral(objectGet(r.body, "name")) === "appsettings",
  );
  const props = objectGet(config.body, "properties");
  assert.equal(
    props?.type,
    "object",
    "the appsettings properties must be an object literal so they can be checked",
  );
  return objectEntries(props).map((e) => {
    assert.ok(e.key, `${api.name}: computed app setting name`);
    return { key: e.key, value: expr(e.value) };
  });
}

describe("modules", () => {
  test("every local module path exists, with no unknown and no missing parameters", async () => {
    const problems: string[] = [];
    for (const file of all) {
      for (const m of modules(file)) {
        const target = join(dirname(file.path), m.path);
        if (!existsSync(target)) {
          problems.push(`${file.name}: module ${m.symbol} → ${m.path} does not exist`);
          continue;
        }
        const declared = params(await loadBicep(target));
        const passed = new Set(objectEntries(objectGet(m.body, "params")).map((e) => e.key ?? ""));
        for (const key of passed) {
          if (!declared.some((p) => p.name === key))
            problems.push(`${file.name}: module ${m.symbol} passes unknown param '${key}'`);
        }
        for (const p of declared) {
          if (!p.optional && !passed.has(p.name))
            problems.push(`${file.name}: module ${m.symbol} misses required param '${p.name}'`);
        }
      }
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  });

  test("every module output that is read is declared by the module", async () => {
    const problems: string[] = [];
    for (const file of all) {
      for (const m of modules(file)) {
        const target = join(dirname(file.path), m.path);
        if (!existsSync(target)) continue;
        const declared = new Set(outputs(await loadBicep(target)).map((o) => o.name));
        for (const use of file.source.matchAll(new RegExp(`\\b${m.symbol}\\.outputs\\.(\\w+)`, "g"))) {
          if (!declared.has(use[1]!))
            problems.push(`${file.name}: ${m.symbol}.outputs.${use[1]} is not an output of ${m.path}`);
        }
      }
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  });

  test("main.bicep deploys to the subscription and creates rg-<environment>", () => {
    assert.match(main.source, /^targetScope = 'subscription'$/m);
    const rg = resourceOfType(main, "Microsoft.Resources/resourceGroups");
    assert.match(
      expr(objectGet(rg.body, "name")),
      /'\$\{abbrs\.resourcesResourceGroups\}\$\{environmentName\}'/,
    );
    const abbrs = JSON.parse(readFileSync(join(infraDir, "abbreviations.json"), "utf8")) as Record<
      string,
      string
    >;
    assert.equal(abbrs.resourcesResourceGroups, "rg-");
    for (const use of main.source.matchAll(/abbrs\.(\w+)/g))
      assert.ok(abbrs[use[1]!], `abbreviations.json lacks ${use[1]}`);
    assert.match(
      expr(variables(main).get("resourceToken")),
      /^toLower\(uniqueString\(subscription\(\)\.id, environmentName, location\)\)$/,
    );
  });
});

describe("main.parameters.json", () => {
  test("every parameter is declared in main.bicep and every required one is supplied", () => {
    const file = JSON.parse(readFileSync(join(infraDir, "main.parameters.json"), "utf8")) as {
      parameters: Record<string, { value: unknown }>;
    };
    const declared = params(main);
    for (const name of Object.keys(file.parameters)) {
      assert.ok(
        declared.some((p) => p.name === name),
        `main.parameters.json sets '${name}', which main.bicep does not declare`,
      );
    }
    for (const p of declared.filter((d) => !d.optional)) {
      assert.ok(p.name in file.parameters, `required parameter '${p.name}' is not in main.parameters.json`);
    }
    assert.equal(file.parameters.environmentName?.value, "${AZURE_ENV_NAME}");
    assert.equal(file.parameters.location?.value, "${AZURE_LOCATION}");
  });

  test("bicepconfig.json maps microsoftGraphV1 to the Graph v1.0 extension", () => {
    const config = JSON.parse(readFileSync(join(infraDir, "bicepconfig.json"), "utf8")) as {
      extensions: Record<string, string>;
    };
    assert.match(
      config.extensions.microsoftGraphV1 ?? "",
      /^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:/,
    );
  });
});

describe("Function App", () => {
  test("app settings are exactly the server's SETTINGS plus the platform's", () => {
    const keys = appSettings().map((s) => s.key);
    const expected = [...SETTINGS.map((s) => s.name), ...PLATFORM_SETTINGS];
    assert.deepEqual([...keys].sort(), [...expected].sort());
  });

  test("every server setting gets its value from a parameter or the computed origin, none hard-coded", () => {
    const byKey = new Map(appSettings().map((s) => [s.key, s.value]));
    assert.equal(byKey.get("PUBLIC_URL"), "publicUrl");
    assert.equal(moduleArg("api", "publicUrl"), "apiBaseUrl");
    assert.equal(expr(variables(main).get("apiBaseUrl")), "'https://${functionAppHostName}'");
    assert.equal(expr(variables(main).get("functionAppHostName")), "'${functionAppName}.azurewebsites.net'");
    assert.equal(moduleArg("api", "name"), "functionAppName");
    assert.equal(byKey.get("ENTRA_CLIENT_ID"), "entraClientId");
    assert.equal(moduleArg("api", "entraClientId"), "entra.outputs.applicationId");
    assert.equal(byKey.get("ENTRA_TENANT_ID"), "entraTenantId");
    assert.equal(moduleArg("api", "entraTenantId"), "tenant().tenantId");
    // Proxy state goes to the table storage.bicep creates, in the account the identity has roles on.
    assert.equal(byKey.get("STORAGE_TABLE_ENDPOINT"), "storageTableEndpoint");
    assert.equal(moduleArg("api", "storageTableEndpoint"), "storage.outputs.tableEndpoint");
    assert.equal(byKey.get("STORAGE_TABLE_NAME"), "storageTableName");
    assert.equal(moduleArg("api", "storageTableName"), "proxyStateTableName");
    assert.equal(moduleArg("storage", "tableNames"), "[ proxyStateTableName ]");
  });

  test("host storage and telemetry use the managed identity, never a key", () => {
    const byKey = new Map(appSettings().map((s) => [s.key, s.value]));
    assert.equal(byKey.get("AzureWebJobsStorage__credential"), "'managedidentity'");
    assert.equal(byKey.get("AzureWebJobsStorage__clientId"), "identityClientId");
    assert.equal(byKey.get("AzureWebJobsStorage__accountName"), "storage.name");
    assert.equal(
      byKey.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"),
      "'ClientId=${identityClientId};Authorization=AAD'",
    );
  });

  test("MANAGED_IDENTITY_CLIENT_ID is the clientId of the identity the app runs as", () => {
    const byKey = new Map(appSettings().map((s) => [s.key, s.value]));
    assert.equal(byKey.get("MANAGED_IDENTITY_CLIENT_ID"), "identityClientId");
    assert.equal(moduleArg("api", "identityClientId"), "identity.outputs.clientId");
    assert.equal(moduleArg("api", "identityId"), "identity.outputs.resourceId");
    const uami = resourceOfType(identity, "Microsoft.ManagedIdentity/userAssignedIdentities");
    const out = new Map(outputs(identity).map((o) => [o.name, expr(o.value)]));
    assert.equal(out.get("clientId"), `${uami.symbol}.properties.clientId`);
    assert.equal(out.get("resourceId"), `${uami.symbol}.id`);
    assert.equal(out.get("principalId"), `${uami.symbol}.properties.principalId`);
    assert.match(moduleCall("identity").path, /identity\.bicep$/);

    const site = resourceOfType(api, "Microsoft.Web/sites");
    assert.equal(expr(get(site.body, "identity", "type")), "'UserAssigned'");
    const assigned = objectEntries(get(site.body, "identity", "userAssignedIdentities"));
    assert.deepEqual(
      assigned.map((e) => expr(e.node.namedChildren[0])),
      ["'${identityId}'"],
    );
    const auth = get(site.body, "properties", "functionAppConfig", "deployment", "storage", "authentication");
    assert.equal(expr(objectGet(auth, "type")), "'UserAssignedIdentity'");
    assert.equal(expr(objectGet(auth, "userAssignedIdentityResourceId")), "identityId");
  });

  test("runs on Flex Consumption, Node 22, tagged for azd as 'api'", () => {
    const plan = resourceOfType(api, "Microsoft.Web/serverfarms");
    assert.equal(stringLiteral(get(plan.body, "sku", "name")), "FC1");
    assert.equal(stringLiteral(get(plan.body, "sku", "tier")), "FlexConsumption");
    const site = resourceOfType(api, "Microsoft.Web/sites");
    const runtime = get(site.body, "properties", "functionAppConfig", "runtime");
    assert.equal(stringLiteral(objectGet(runtime, "name")), "node");
    assert.equal(stringLiteral(objectGet(runtime, "version")), "22");
    assert.ok(get(site.body, "properties", "functionAppConfig", "scaleAndConcurrency", "instanceMemoryMB"));
    assert.match(expr(objectGet(site.body, "tags")), /'azd-service-name': serviceName/);
    assert.equal(params(api).find((p) => p.name === "serviceName")?.defaultValue?.text, "'api'");
    assert.doesNotMatch(api.source, /keyVaultReferenceIdentity/);
  });
});

describe("no secrets", () => {
  test("no output name or value looks like a secret", () => {
    const problems = all.flatMap((f) =>
      outputs(f)
        .filter((o) => SECRET_NAME.test(o.name) || SECRET_VALUE.test(expr(o.value)) || /@secure/.test(o.type))
        .map((o) => `${f.name}: output ${o.name} = ${expr(o.value)}`),
    );
    assert.deepEqual(problems, [], problems.join("\n"));
  });

  test("no app setting name or value looks like a secret", () => {
    const problems = appSettings()
      .filter((s) => SECRET_NAME.test(s.key) || SECRET_VALUE.test(s.value))
      .map((s) => `${s.key} = ${s.value}`);
    assert.deepEqual(problems, [], problems.join("\n"));
  });

  test("no key listing, connection string with a key, or secret parameter anywhere", () => {
    const problems = all.flatMap((f) =>
      f.source
        .split("\n")
        .map((line, i) => ({ line, i }))
        .filter(
          ({ line }) =>
            !line.trim().startsWith("//") && (SECRET_VALUE.test(line) || /@secure\(\)/.test(line)),
        )
        .map(({ line, i }) => `${f.name}:${i + 1}: ${line.trim()}`),
    );
    assert.deepEqual(problems, [], problems.join("\n"));
  });

  test("the secret patterns do catch secrets", () => {
    for (const name of ["STORAGE_KEY", "clientSecret", "adminPassword", "apiKey", "AccountKey"]) {
      assert.match(name, SECRET_NAME, name);
    }
    for (const value of [
      "stg.listKeys().keys[0].value",
      "'DefaultEndpointsProtocol=https;AccountKey=${k}'",
    ]) {
      assert.match(value, SECRET_VALUE, value);
    }
    for (const name of [
      "MANAGED_IDENTITY_CLIENT_ID",
      "ENTRA_APP_ID_URI",
      "AzureWebJobsStorage__credential",
      "resourceToken",
    ]) {
      assert.doesNotMatch(name, SECRET_NAME, name);
    }
  });

  test("storage has shared key access disabled and no public blobs", () => {
    const account = resourceOfType(storage, "Microsoft.Storage/storageAccounts", (r) => !r.existing);
    assert.equal(expr(get(account.body, "properties", "allowSharedKeyAccess")), "false");
    assert.equal(expr(get(account.body, "properties", "allowBlobPublicAccess")), "false");
    assert.equal(stringLiteral(get(account.body, "properties", "minimumTlsVersion")), "TLS1_2");
    const table = resourceOfType(storage, "Microsoft.Storage/storageAccounts/tableServices/tables");
    assert.ok(table);
    assert.match(moduleArg("storage", "tableNames"), /proxyStateTableName/);
    assert.equal(expr(variables(main).get("proxyStateTableName")), "'mcpstate'");
    resourceOfType(storage, "Microsoft.Storage/storageAccounts/blobServices/containers");
  });

  test("Application Insights refuses key-only ingestion", () => {
    const monitoring = all.find((f) => f.name.replaceAll("\\", "/").endsWith("infra/app/monitoring.bicep"))!;
    const appi = resourceOfType(monitoring, "Microsoft.Insights/components", (r) => !r.existing);
    assert.equal(expr(get(appi.body, "properties", "DisableLocalAuth")), "true");
  });
});

describe("role assignments", () => {
  const ROLES: Record<string, string> = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
  };

  test("all live in rbac.bicep, each role id named and commented", () => {
    for (const f of all) {
      if (f === rbac) continue;
      assert.equal(
        resources(f).filter((r) => r.type.startsWith("Microsoft.Authorization/roleAssignments")).length,
        0,
        `${f.name} assigns roles outside rbac.bicep`,
      );
    }
    for (const [id, role] of Object.entries(ROLES)) {
      assert.match(rbac.source, new RegExp(`^var \\w+RoleId = '${id}' // ${role}`, "m"), `${role} (${id})`);
    }
  });

  test("names are deterministic guid()s of scope, principal and role", () => {
    const assignments = resources(rbac).filter((r) =>
      r.type.startsWith("Microsoft.Authorization/roleAssignments"),
    );
    assert.ok(assignments.length >= 3);
    for (const a of assignments) {
      assert.match(expr(objectGet(a.body, "name")), /^guid\(\w+\.id, \w+PrincipalId, \w+\)$/, a.symbol);
    }
    assert.equal(moduleArg("rbac", "managedIdentityPrincipalId"), "identity.outputs.principalId");
  });
});

describe("Entra app registration", () => {
  const apps = () =>
    resources(entra).filter((r) => r.type === "Microsoft.Graph/applications@v1.0" && !r.existing);

  test("exposes user_impersonation under api://<appId>, v2 tokens, VS Code pre-authorized", () => {
    const [first, second] = apps();
    assert.ok(first && second, "expects the registration and its identifier-URI pass");
    assert.equal(expr(objectGet(second.body, "uniqueName")), expr(objectGet(first.body, "uniqueName")));
    assert.equal(expr(objectGet(second.body, "identifierUris")), `[ 'api://\${${first.symbol}.appId}' ]`);
    const vars = variables(entra);
    const apiVar = vars.get(expr(objectGet(first.body, "api")));
    assert.ok(apiVar, "api settings come from a variable shared by both passes");
    assert.equal(expr(objectGet(second.body, "api")), expr(objectGet(first.body, "api")));
    assert.equal(expr(objectGet(apiVar, "requestedAccessTokenVersion")), "2");
    assert.match(expr(objectGet(apiVar, "oauth2PermissionScopes")), /value: scopeValue/);
    assert.equal(
      params(entra).find((p) => p.name === "scopeValue")?.defaultValue?.text,
      "'user_impersonation'",
    );
    assert.match(expr(vars.get("scopeId")), /^guid\(/);
    assert.match(
      params(entra).find((p) => p.name === "preAuthorizedClientIds")?.defaultValue?.text ?? "",
      /'aebc6443-996d-45c2-90f0-388ff96faa56'/,
    );
  });

  test("requests Microsoft Graph User.Read (delegated) and registers the proxy callback", () => {
    assert.match(entra.source, /var graphAppId = '00000003-0000-0000-c000-000000000000'/);
    assert.match(entra.source, /var graphUserReadId = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d'/);
    const access = expr(variables(entra).get("requiredGraphAccess"));
    assert.match(access, /resourceAppId: graphAppId/);
    assert.match(access, /id: graphUserReadId type: 'Scope'/);
    const redirectUris = expr(objectGet(variables(entra).get("webSettings") ?? null, "redirectUris"));
    assert.match(redirectUris, /'https:\/\/\$\{functionAppHostName\}\/oauth\/callback'/);
    // The Graph consent link (landing page, consent_required errors) returns there.
    assert.match(redirectUris, /'https:\/\/\$\{functionAppHostName\}\/oauth\/consent-complete'/);
    assert.equal(moduleArg("entra", "functionAppHostName"), "functionAppHostName");
  });

  test("the federated credential trusts exactly the Function App's managed identity", () => {
    const fic = resourceOfType(entra, "Microsoft.Graph/applications/federatedIdentityCredentials");
    assert.equal(expr(objectGet(fic.body, "audiences")), "[ 'api://AzureADTokenExchange' ]");
    assert.equal(
      expr(objectGet(fic.body, "issuer")),
      "'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'",
    );
    assert.equal(expr(objectGet(fic.body, "subject")), "managedIdentityPrincipalId");
    assert.equal(moduleArg("entra", "managedIdentityPrincipalId"), "identity.outputs.principalId");
    assert.match(expr(objectGet(fic.body, "name")), /^'\$\{appUniqueName\}\/[\w-]+'$/);
    // The same identity the Function App runs as and names in MANAGED_IDENTITY_CLIENT_ID.
    assert.equal(moduleArg("api", "identityClientId"), "identity.outputs.clientId");
  });

  test("a service principal exists; tenant-wide consent only behind a parameter that defaults to false", () => {
    resourceOfType(entra, "Microsoft.Graph/servicePrincipals", (r) => !r.existing);
    const grant = resourceOfType(entra, "Microsoft.Graph/oauth2PermissionGrants");
    assert.match(expr(grant.node), /= if \(grantAdminConsent\) \{/);
    assert.equal(stringLiteral(objectGet(grant.body, "consentType")), "AllPrincipals");
    assert.match(stringLiteral(objectGet(grant.body, "scope")) ?? "", /\bUser\.Read\b/);
    assert.equal(params(entra).find((p) => p.name === "grantAdminConsent")?.defaultValue?.text, "false");
    assert.equal(params(main).find((p) => p.name === "grantAdminConsent")?.defaultValue?.text, "false");
  });

  test("no client secret or certificate on the app", () => {
    for (const a of apps()) {
      for (const key of ["passwordCredentials", "keyCredentials"])
        assert.equal(objectGet(a.body, key), null, key);
    }
  });
});

describe("Static Web App", () => {
  test("SKU from a parameter (default Free), tagged for azd as 'web'", () => {
    const swa = resourceOfType(web, "Microsoft.Web/staticSites");
    assert.equal(expr(get(swa.body, "sku", "name")), "sku");
    assert.equal(params(web).find((p) => p.name === "sku")?.defaultValue?.text, "'Free'");
    assert.equal(params(main).find((p) => p.name === "staticWebAppSku")?.defaultValue?.text, "'Free'");
    assert.equal(moduleArg("web", "sku"), "staticWebAppSku");
    assert.match(expr(objectGet(swa.body, "tags")), /'azd-service-name': serviceName/);
    assert.equal(params(web).find((p) => p.name === "serviceName")?.defaultValue?.text, "'web'");
  });
});

describe("outputs and azd contract", () => {
  test("main.bicep outputs are UPPER_SNAKE and include what azd and the hook need", () => {
    const names = outputs(main).map((o) => o.name);
    for (const n of names) assert.match(n, /^[A-Z][A-Z0-9_]*$/, n);
    for (const required of [
      "MCP_ENDPOINT",
      "LANDING_PAGE_URL",
      "API_BASE_URL",
      "AZURE_TENANT_ID",
      "ENTRA_CLIENT_ID",
      "SERVICE_API_NAME",
      "SERVICE_WEB_NAME",
      "AZURE_RESOURCE_GROUP",
    ]) {
      assert.ok(names.includes(required), `missing output ${required}`);
    }
    const byName = new Map(outputs(main).map((o) => [o.name, expr(o.value)]));
    assert.equal(byName.get("MCP_ENDPOINT"), "'${apiBaseUrl}/api/mcp'");
    assert.equal(byName.get("API_BASE_URL"), "apiBaseUrl");
  });

  test("every resource carries the azd-env-name tag through `tags`", () => {
    assert.match(expr(variables(main).get("tags")), /^\{ 'azd-env-name': environmentName \}$/);
    for (const f of all) {
      for (const r of resources(f)) {
        // Tags go on tracked (located) resources.
        if (r.existing || !objectGet(r.body, "location")) continue;
        assert.ok(objectGet(r.body, "tags"), `${f.name}: ${r.symbol} has a location but no tags`);
      }
    }
    for (const m of modules(main)) {
      const p = objectGet(m.body, "params");
      if (objectGet(p, "location")) assert.equal(expr(objectGet(p, "tags")), "tags", `module ${m.symbol}`);
    }
  });

  test("azure.yaml service paths and hook scripts exist", () => {
    const doc = parseYaml(readFileSync(join(repoRoot, "azure.yaml"), "utf8")) as {
      services: Record<string, { project: string; host: string; dist?: string }>;
      hooks?: Record<string, { run?: string; posix?: { run: string }; windows?: { run: string } }>;
    };
    assert.equal(doc.services.api?.host, "function");
    assert.equal(doc.services.web?.host, "staticwebapp");
    for (const [name, svc] of Object.entries(doc.services)) {
      assert.ok(
        existsSync(join(repoRoot, svc.project)),
        `service ${name}: project ${svc.project} does not exist`,
      );
    }
    assert.equal(doc.services.api?.dist, "dist/api");
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.ok(pkg.scripts.build, "azd builds the api service with `npm run build`");
    const runs = Object.values(doc.hooks ?? {}).flatMap((h) => [h.run, h.posix?.run, h.windows?.run]);
    assert.ok(runs.length > 0);
    for (const run of runs.filter((r): r is string => !!r)) {
      for (const script of run.match(/\S+\.(?:mjs|js|sh|ps1)\b/g) ?? []) {
        assert.ok(existsSync(join(repoRoot, script)), `hook script ${script} does not exist`);
      }
    }
    assert.match(runs.join("\n"), /infra\/hooks\/postprovision\.mjs/);
    const swa = JSON.parse(readFileSync(join(repoRoot, "swa-cli.config.json"), "utf8")) as {
      configurations: Record<string, { appLocation: string }>;
    };
    for (const c of Object.values(swa.configurations)) {
      assert.ok(
        existsSync(join(repoRoot, c.appLocation)),
        `swa-cli.config.json appLocation ${c.appLocation}`,
      );
    }
  });
});
