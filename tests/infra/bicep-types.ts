/**
 * Checks Bicep resource declarations against the Bicep compiler's own type definitions
 * (`../shared/bicep-types/`, copied from Azure/bicep-types-az and microsoftgraph/msgraph-bicep-types).
 *
 * For each `resource x '<Type>@<apiVersion>' = {...}` it reports: an unknown type or API version; property
 * names the type does not have; read-only properties that are set; required properties left out (not for
 * `existing` resources); string literals outside a closed set of allowed values; literals of the wrong
 * primitive kind. It walks nested object literals, arrays, `for` bodies, both branches of `?:`, and
 * variables whose value is a literal. Expressions it cannot evaluate (parameters, function calls, property
 * access) are accepted as they are: that part is left to the compiler.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Node } from "web-tree-sitter";
import type { BicepFile } from "./bicep.ts";
import { named, objectEntries, repoRoot, resources, stringLiteral, variables, where } from "./bicep.ts";

/** `../shared/bicep-types` relative to the repository root (CI: a fresh clone next to `shared/`). */
export function bicepTypesDir(): string {
  const dir = process.env.BICEP_TYPES_DIR ?? resolve(repoRoot, "../shared/bicep-types");
  if (!existsSync(dir)) {
    throw new Error(
      `Bicep type definitions not found at ${dir}. The infra tests expect the project's shared folder next to ` +
        "the repository (../shared/bicep-types), or BICEP_TYPES_DIR pointing at a copy.",
    );
  }
  return dir;
}

const FLAG_REQUIRED = 1;
const FLAG_READONLY = 2;

interface Ref {
  $ref: string;
}

interface PropertyDef {
  type: Ref;
  flags: number;
  description?: string;
}

type TypeNode =
  | {
      $type: "ObjectType";
      name?: string;
      properties?: Record<string, PropertyDef>;
      additionalProperties?: Ref;
    }
  | {
      $type: "DiscriminatedObjectType";
      name?: string;
      discriminator: string;
      baseProperties: Record<string, PropertyDef>;
      elements: Record<string, Ref>;
    }
  | { $type: "ArrayType"; itemType: Ref }
  | { $type: "UnionType"; elements: Ref[] }
  | { $type: "StringLiteralType"; value: string }
  | { $type: "ResourceType"; name: string; body: Ref }
  | { $type: "StringType" | "IntegerType" | "BooleanType" | "AnyType" | "NullType" | string };

/** A type node together with the file (array) its `$ref`s point into. */
interface Typed {
  node: TypeNode;
  table: TypeNode[];
}

export class BicepTypes {
  /** lower-cased `type@version` → resource body type */
  private readonly resourcesByKey = new Map<string, Typed & { name: string }>();
  /** lower-cased type → known API versions */
  readonly versions = new Map<string, string[]>();

  constructor(dir = bicepTypesDir()) {
    for (const file of typeFiles(dir)) {
      const table = JSON.parse(readFileSync(file, "utf8")) as TypeNode[];
      for (const node of table) {
        if (node.$type !== "ResourceType") continue;
        const rt = node as { name: string; body: Ref };
        const [type, version] = splitTypeName(rt.name);
        this.resourcesByKey.set(rt.name.toLowerCase(), { name: rt.name, node: deref(table, rt.body), table });
        const list = this.versions.get(type.toLowerCase()) ?? [];
        list.push(version);
        this.versions.set(type.toLowerCase(), list);
      }
    }
    // Types Bicep has built in rather than in a provider's types.json (or outside the shared copy).
    for (const [name, body] of Object.entries(BUILT_IN)) {
      const [type, version] = splitTypeName(name);
      this.resourcesByKey.set(name.toLowerCase(), { name, node: body[0] as TypeNode, table: body });
      this.versions.set(type.toLowerCase(), [...(this.versions.get(type.toLowerCase()) ?? []), version]);
    }
  }

  resource(typeName: string): (Typed & { name: string }) | undefined {
    return this.resourcesByKey.get(typeName.toLowerCase());
  }
}

function typeFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e === "types.json") out.push(p);
    }
  };
  walk(dir);
  return out;
}

function splitTypeName(name: string): [string, string] {
  const at = name.lastIndexOf("@");
  return at < 0 ? [name, ""] : [name.slice(0, at), name.slice(at + 1)];
}

function deref(table: TypeNode[], ref: Ref): TypeNode {
  const m = /^#\/(\d+)$/.exec(ref.$ref);
  const node = m ? table[Number(m[1])] : undefined;
  if (!node) throw new Error(`Unresolvable type reference ${ref.$ref}`);
  return node;
}

/**
 * `Microsoft.Resources/resourceGroups` is not in the shared copy; its body is small and stable, so it is
 * described here (same shape as bicep-types-az generated/resources/microsoft.resources/2021-04-01).
 */
const BUILT_IN: Record<string, TypeNode[]> = {
  "Microsoft.Resources/resourceGroups@2021-04-01": [
    {
      $type: "ObjectType",
      name: "Microsoft.Resources/resourceGroups",
      properties: {
        id: { type: { $ref: "#/1" }, flags: 10 },
        name: { type: { $ref: "#/1" }, flags: 9 },
        type: { type: { $ref: "#/1" }, flags: 10 },
        apiVersion: { type: { $ref: "#/1" }, flags: 10 },
        location: { type: { $ref: "#/1" }, flags: 1 },
        managedBy: { type: { $ref: "#/1" }, flags: 0 },
        tags: { type: { $ref: "#/2" }, flags: 0 },
        properties: { type: { $ref: "#/3" }, flags: 0 },
      },
    },
    { $type: "StringType" },
    { $type: "ObjectType", name: "Tags", properties: {}, additionalProperties: { $ref: "#/1" } },
    {
      $type: "ObjectType",
      name: "ResourceGroupProperties",
      properties: { provisioningState: { type: { $ref: "#/1" }, flags: 2 } },
    },
  ],
};

/** Keys every resource body may carry besides its type's own properties. */
const RESOURCE_KEYWORDS = new Set(["dependsOn", "parent", "scope"]);

export interface TypeProblem {
  at: string;
  message: string;
}

interface Ctx {
  file: BicepFile;
  vars: Map<string, Node>;
  problems: TypeProblem[];
  /** variables being expanded, against reference cycles */
  expanding: Set<string>;
}

/** Checks every resource declaration of a file. */
export function checkResourceTypes(file: BicepFile, types: BicepTypes): TypeProblem[] {
  const ctx: Ctx = { file, vars: variables(file), problems: [], expanding: new Set() };
  for (const res of resources(file)) {
    const at = where(file, res.node);
    const def = types.resource(res.type);
    if (!def) {
      const [type, version] = splitTypeName(res.type);
      const known = types.versions.get(type.toLowerCase());
      ctx.problems.push({
        at,
        message: known
          ? `${res.symbol}: API version ${version} of ${type} is not in the type definitions (known: ${known.join(", ")})`
          : `${res.symbol}: unknown resource type ${type}`,
      });
      continue;
    }
    if (!res.body) {
      ctx.problems.push({ at, message: `${res.symbol}: body is not an object literal; cannot check it` });
      continue;
    }
    checkObject(res.body, { node: def.node, table: def.table }, `${res.symbol}`, ctx, {
      resourceLevel: true,
      existing: res.existing,
    });
  }
  return ctx.problems;
}

interface ObjOpts {
  resourceLevel?: boolean;
  existing?: boolean;
}

/** Flattens the object-like shape of a type: its properties, additional properties, discriminator. */
function objectShape(
  typed: Typed,
  obj: Node,
  path: string,
  ctx: Ctx,
): { properties: Record<string, PropertyDef>; additional?: Ref; table: TypeNode[] } | undefined {
  const { node, table } = typed;
  if (node.$type === "ObjectType") {
    const o = node as { properties?: Record<string, PropertyDef>; additionalProperties?: Ref };
    return { properties: o.properties ?? {}, additional: o.additionalProperties, table };
  }
  if (node.$type === "DiscriminatedObjectType") {
    const d = node as {
      discriminator: string;
      baseProperties: Record<string, PropertyDef>;
      elements: Record<string, Ref>;
    };
    const value = objectEntries(obj).find((e) => e.key === d.discriminator)?.value;
    const literal = stringLiteral(value);
    if (literal === undefined) {
      ctx.problems.push({
        at: where(ctx.file, obj),
        message: `${path}: '${d.discriminator}' must be a string literal (one of ${Object.keys(d.elements).join(", ")}) so the type can be checked`,
      });
      return undefined;
    }
    const elementRef = d.elements[literal];
    if (!elementRef) {
      ctx.problems.push({
        at: where(ctx.file, value ?? obj),
        message: `${path}.${d.discriminator}: '${literal}' is not one of ${Object.keys(d.elements).join(", ")}`,
      });
      return undefined;
    }
    const element = objectShape({ node: deref(table, elementRef), table }, obj, path, ctx);
    if (!element) return undefined;
    return { ...element, properties: { ...d.baseProperties, ...element.properties } };
  }
  return undefined;
}

function checkObject(obj: Node, typed: Typed, path: string, ctx: Ctx, opts: ObjOpts = {}): void {
  const shape = objectShape(typed, obj, path, ctx);
  if (!shape) return;
  const present = new Set<string>();
  for (const entry of objectEntries(obj)) {
    if (entry.key === undefined) {
      // Computed key ('${x}'): only additional properties can take it.
      if (!shape.additional) {
        ctx.problems.push({
          at: where(ctx.file, entry.node),
          message: `${path}: computed key on a closed object`,
        });
      } else if (entry.value) {
        checkValue(
          entry.value,
          { node: deref(shape.table, shape.additional), table: shape.table },
          `${path}[*]`,
          ctx,
        );
      }
      continue;
    }
    present.add(entry.key);
    if (opts.resourceLevel && RESOURCE_KEYWORDS.has(entry.key)) continue;
    const prop = shape.properties[entry.key];
    const propPath = `${path}.${entry.key}`;
    if (!prop) {
      if (shape.additional) {
        if (entry.value) {
          checkValue(
            entry.value,
            { node: deref(shape.table, shape.additional), table: shape.table },
            propPath,
            ctx,
          );
        }
        continue;
      }
      const near = closest(entry.key, Object.keys(shape.properties));
      ctx.problems.push({
        at: where(ctx.file, entry.node),
        message: `${propPath}: no such property${near ? ` (did you mean '${near}'?)` : ""}`,
      });
      continue;
    }
    if (prop.flags & FLAG_READONLY) {
      ctx.problems.push({ at: where(ctx.file, entry.node), message: `${propPath}: read-only property` });
      continue;
    }
    if (entry.value)
      checkValue(entry.value, { node: deref(shape.table, prop.type), table: shape.table }, propPath, ctx);
  }
  if (opts.existing) return;
  for (const [name, prop] of Object.entries(shape.properties)) {
    if (prop.flags & FLAG_REQUIRED && !(prop.flags & FLAG_READONLY) && !present.has(name)) {
      ctx.problems.push({
        at: where(ctx.file, obj),
        message: `${path}: required property '${name}' is missing`,
      });
    }
  }
}

function checkValue(value: Node, typed: Typed, path: string, ctx: Ctx): void {
  const { node: type, table } = typed;
  switch (value.type) {
    case "object": {
      if (type.$type === "ObjectType" || type.$type === "DiscriminatedObjectType") {
        checkObject(value, typed, path, ctx);
      } else if (type.$type === "UnionType") {
        checkUnion(value, typed, path, ctx);
      } else if (type.$type !== "AnyType") {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: an object where ${describe(type)} is expected`,
        });
      }
      return;
    }
    case "array": {
      if (type.$type === "ArrayType") {
        const item = { node: deref(table, (type as { itemType: Ref }).itemType), table };
        for (const el of named(value)) checkValue(el, item, `${path}[]`, ctx);
      } else if (type.$type !== "AnyType" && type.$type !== "UnionType") {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: an array where ${describe(type)} is expected`,
        });
      }
      return;
    }
    case "for_statement": {
      // `[for x in y: <body>]` is an array whose items are the body.
      const body = value.childForFieldName("body");
      if (type.$type === "ArrayType" && body) {
        checkValue(
          body,
          { node: deref(table, (type as { itemType: Ref }).itemType), table },
          `${path}[]`,
          ctx,
        );
      }
      return;
    }
    case "if_statement": {
      const body = named(value).find((c) => c.type === "object");
      if (body) checkValue(body, typed, path, ctx);
      return;
    }
    case "ternary_expression": {
      for (const field of ["consequence", "alternative"]) {
        const branch = value.childForFieldName(field);
        if (branch) checkValue(branch, typed, path, ctx);
      }
      return;
    }
    case "parenthesized_expression": {
      const inner = named(value)[0];
      if (inner) checkValue(inner, typed, path, ctx);
      return;
    }
    case "identifier": {
      // A variable holding a literal is checked as if written in place.
      const v = ctx.vars.get(value.text);
      if (v && !ctx.expanding.has(value.text)) {
        ctx.expanding.add(value.text);
        checkValue(v, typed, path, ctx);
        ctx.expanding.delete(value.text);
      }
      return;
    }
    case "string": {
      const literal = stringLiteral(value);
      const allowed = closedStringSet(typed);
      if (literal !== undefined && allowed && !allowed.includes(literal)) {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: '${literal}' is not one of ${allowed.map((a) => `'${a}'`).join(", ")}`,
        });
      } else if (!acceptsKind(typed, "string")) {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: a string where ${describe(type)} is expected`,
        });
      }
      return;
    }
    case "number":
      if (!acceptsKind(typed, "int")) {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: a number where ${describe(type)} is expected`,
        });
      }
      return;
    case "boolean":
      if (!acceptsKind(typed, "bool")) {
        ctx.problems.push({
          at: where(ctx.file, value),
          message: `${path}: a boolean where ${describe(type)} is expected`,
        });
      }
      return;
    default:
      // Function calls, property access, parameters, null: not evaluated.
      return;
  }
}

/** An object against a union: fine if any object-like member accepts it without problems. */
function checkUnion(value: Node, typed: Typed, path: string, ctx: Ctx): void {
  const members = (typed.node as { elements: Ref[] }).elements.map((r) => ({
    node: deref(typed.table, r),
    table: typed.table,
  }));
  const candidates = members.filter(
    (m) => m.node.$type === "ObjectType" || m.node.$type === "DiscriminatedObjectType",
  );
  if (members.some((m) => m.node.$type === "AnyType")) return;
  if (!candidates.length) {
    ctx.problems.push({
      at: where(ctx.file, value),
      message: `${path}: an object where ${describe(typed.node)} is expected`,
    });
    return;
  }
  let best: TypeProblem[] | undefined;
  for (const c of candidates) {
    const sub: Ctx = { ...ctx, problems: [] };
    checkObject(value, c, path, sub);
    if (!sub.problems.length) return;
    if (!best || sub.problems.length < best.length) best = sub.problems;
  }
  ctx.problems.push(...(best ?? []));
}

/** The allowed values when a type is a string literal or a union of string literals only. */
function closedStringSet(typed: Typed): string[] | undefined {
  const { node, table } = typed;
  if (node.$type === "StringLiteralType") return [(node as { value: string }).value];
  if (node.$type !== "UnionType") return undefined;
  const values: string[] = [];
  for (const r of (node as { elements: Ref[] }).elements) {
    const m = deref(table, r);
    if (m.$type !== "StringLiteralType") return undefined;
    values.push((m as { value: string }).value);
  }
  return values;
}

function acceptsKind(typed: Typed, kind: "string" | "int" | "bool"): boolean {
  const { node, table } = typed;
  switch (node.$type) {
    case "AnyType":
      return true;
    case "StringType":
    case "StringLiteralType":
      return kind === "string";
    case "IntegerType":
      return kind === "int";
    case "BooleanType":
      return kind === "bool";
    case "UnionType":
      return (node as { elements: Ref[] }).elements.some((r) =>
        acceptsKind({ node: deref(table, r), table }, kind),
      );
    default:
      return false;
  }
}

function describe(type: TypeNode): string {
  const name = (type as { name?: string }).name;
  return `${type.$type}${name ? ` ${name}` : ""}`;
}

/** A near miss for "did you mean", by edit distance. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
