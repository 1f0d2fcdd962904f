/**
 * Letting the event loop run in the middle of long work on the HTTP thread,
 * so that other requests are answered before the work goes on.
 * @module
 */

/**
 * Resolves once the event loop has polled its sockets, so that requests
 * that arrived meanwhile are taken first. A timer is the one way measured
 * to do that: it costs the timer's next millisecond tick (1–2 ms a turn),
 * so callers yield only after a few ms of work. A message through a
 * `MessageChannel`, node's `setImmediate`, or an operation completed on
 * another thread (a digest, a `stat`) resolve in tens of µs but let the
 * sockets wait: with any of them every 5 ms, a `GET /-/healthy` waited
 * 100–700 ms behind a long `/api/v1/metrics`, against 20 ms with a timer.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
