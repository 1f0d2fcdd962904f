/**
 * The store's name for a push's prepared families, which are made in the
 * push pipeline (push/prepare.ts) before the store is called.
 * @module
 */

export {
  type PreparedFamily,
  prepareFamily,
  prepareKeyedFamily,
  ROW_STRIDE,
} from "../push/prepare.ts";
