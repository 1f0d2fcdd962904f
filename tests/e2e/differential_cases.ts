/**
 * The differential case list: named sequences of HTTP requests that
 * `differential_test.ts` sends to the reference Pushgateway 1.5.1 and to
 * Pushvault, comparing every answer and the scrape after the case. Each case
 * names (`doc`) the sections of docs/compatibility.md that describe what it
 * exercises. Deviations we chose on purpose are listed in `deviations.ts` by
 * case name, never here.
 *
 * Rules for a case: it starts from an empty store (the test wipes both
 * gateways between cases); a `GET /metrics` inside a case is compared with
 * own families stripped and push times normalised; a request that makes
 * 1.5.1 deadlock (an invalid `job@base64`, docs/compatibility.md, The 1.5.1
 * deadlock) sets `restartReferenceAfter`, since every later request on that
 * route variant would hang. Cases with `flags` run against a second pair of gateways
 * started with those flags (e.g. `--push.disable-consistency-check`).
 * @module
 */

import { GROUPING_KEY_CASES } from "./differential/grouping_key.ts";
import { ROUTING_CASES } from "./differential/routing.ts";
import { BODY_CASES } from "./differential/bodies.ts";
import { PROTOBUF_CASES } from "./differential/protobuf.ts";
import { VALIDATION_CASES } from "./differential/validation.ts";
import { OUTPUT_CASES } from "./differential/output.ts";
import type { DiffCase } from "./differential/case_kit.ts";

export type { DiffCase, DiffRequest, Method } from "./differential/case_kit.ts";
export { PROTOBUF } from "./differential/case_kit.ts";

/** Every case, section by section, in the order they run. */
export const DIFF_CASES: readonly DiffCase[] = [
  ...GROUPING_KEY_CASES,
  ...ROUTING_CASES,
  ...BODY_CASES,
  ...PROTOBUF_CASES,
  ...VALIDATION_CASES,
  ...OUTPUT_CASES,
];
