/**
 * Type assertions that fail the build when a type is wrong.
 *
 * `assertType<Equal<A, B>>()` compiles only when A and B are exactly the same type (`any` equals nothing but
 * `any`; `number` is not `number | undefined`). `expectAssignable<T>(value)` compiles when `value` fits `T`.
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

/** True when `T` is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false

/** Compiles only when `T` is `true`. */
export function assertType<T extends true>(): void {}

/** Compiles only when `value` is assignable to `T`. */
export function expectAssignable<T>(value: T): T {
  return value
}

/** Never called: type tests are compiled, not run. Wraps code so that it is type-checked without executing. */
export function typeOnly(body: () => unknown): void {
  void body
}
