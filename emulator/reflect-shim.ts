// Minimal Reflect metadata API. @peculiar/x509 depends on tsyringe, which needs
// Reflect.getMetadata / getOwnMetadata / defineMetadata at load time; no polyfill package is
// installed, so this defines the three functions (only if absent). Import before @peculiar/x509.
type Target = object;
const store = new WeakMap<Target, Map<string | symbol | undefined, Map<unknown, unknown>>>();

function own(
  target: Target,
  prop: string | symbol | undefined,
  create: boolean,
): Map<unknown, unknown> | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    store.set(target, byProp);
  }
  let map = byProp.get(prop);
  if (!map && create) {
    map = new Map();
    byProp.set(prop, map);
  }
  return map;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== "function") {
  R.defineMetadata = (key: unknown, value: unknown, target: Target, prop?: string | symbol) => {
    own(target, prop, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: Target, prop?: string | symbol) =>
    own(target, prop, false)?.get(key);
  R.getMetadata = (key: unknown, target: Target, prop?: string | symbol) => {
    for (let t: Target | null = target; t; t = Object.getPrototypeOf(t)) {
      const map = own(t, prop, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
}
