/**
 * The time limit on reading a request body (`--web.read-timeout`): `watch`
 * is called when a read starts; `expire` is called with the error to throw
 * once the time is up; the returned function stops the watch.
 */
export interface ReadDeadline {
  watch(expire: (error: Error) => void): () => void;
}
