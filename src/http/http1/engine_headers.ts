/**
 * The headers of a request of the engine (engine_request.ts): a `Headers`
 * that answers `get` and `has` from the fields as the head parser read them
 * (names in lower case, repeated fields joined with ", "), and fills its
 * own header list from them only when anything else is asked (iteration,
 * a change). Filling a `Headers` converts and checks every field again
 * (about 1 µs for a push's four fields), which the head parser already did;
 * a route reads two or three of them.
 * @module
 */

export class EngineHeaders extends Headers {
  /** The fields as read; undefined once they are in the header list. */
  #fields: Readonly<Record<string, string>> | undefined;

  constructor(fields: Readonly<Record<string, string>>) {
    super();
    this.#fields = fields;
  }

  /** Puts the fields into the header list, once. */
  #fill(): void {
    const fields = this.#fields;
    if (fields === undefined) return;
    this.#fields = undefined;
    for (const name in fields) super.append(name, fields[name] as string);
  }

  override get(name: string): string | null {
    // A name not among the fields goes to the list, which checks it.
    return this.#fields?.[name.toLowerCase()] ?? super.get(name);
  }

  override has(name: string): boolean {
    return this.#fields?.[name.toLowerCase()] !== undefined || super.has(name);
  }

  override append(name: string, value: string): void {
    this.#fill();
    super.append(name, value);
  }

  override set(name: string, value: string): void {
    this.#fill();
    super.set(name, value);
  }

  override delete(name: string): void {
    this.#fill();
    super.delete(name);
  }

  override getSetCookie(): string[] {
    this.#fill();
    return super.getSetCookie();
  }

  override forEach(
    callback: (value: string, key: string, parent: this) => void,
    thisArg?: unknown,
  ): void {
    this.#fill();
    super.forEach(callback, thisArg);
  }

  override entries(): ReturnType<Headers["entries"]> {
    this.#fill();
    return super.entries();
  }

  override keys(): ReturnType<Headers["keys"]> {
    this.#fill();
    return super.keys();
  }

  override values(): ReturnType<Headers["values"]> {
    this.#fill();
    return super.values();
  }

  override [Symbol.iterator](): ReturnType<Headers["entries"]> {
    this.#fill();
    return super[Symbol.iterator]();
  }
}
