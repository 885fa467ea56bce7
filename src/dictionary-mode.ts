/**
 * Cheap property adds on Express's requests and responses.
 *
 * Express replaces the prototype of every `req` and `res` (`Object.setPrototypeOf`). V8 does not share the hidden
 * classes that property adds then create: each property added to such an object makes a hidden class of its own
 * (about 3 µs here), and every later access to the object, by Express, Node's HTTP code and the application,
 * misses V8's inline caches. An object in dictionary mode has neither cost: adds are hash-table inserts, and its
 * hidden class is shared by all such objects. Deleting the property just added is what switches it; on an object
 * whose hidden classes are shared (a plain Node or Connect request) V8 instead steps back to the previous one,
 * so there nothing changes.
 * @internal
 */

/** V8 (Node, Deno): Bun's JavaScriptCore keeps objects apart differently, unmeasured here, so it is left alone. */
const onV8 = typeof process.versions.bun !== 'string'

/**
 * `target[key] = value`, switching `target` to dictionary mode when its hidden class is its own (see above).
 * Only a property the assignment created is deleted and added again: an own property that was there before (an
 * accessor, say) and a setter on the prototype chain see exactly the plain assignment.
 */
export function assignInDictionaryMode(target: object, key: PropertyKey, value: unknown): void {
  const record = target as Record<PropertyKey, unknown>
  const created = onV8 && !Object.hasOwn(target, key)
  record[key] = value
  if (!created || !Object.hasOwn(target, key)) return
  try {
    if (Reflect.deleteProperty(target, key)) record[key] = value
  } catch {
    // a Proxy that refuses the delete: the assignment above stands
  }
}
