/**
 * Every place where Pushvault answers differently from the reference
 * Pushgateway 1.5.1 on purpose, in one list. `differential_test.ts` checks
 * that each listed case really differs, exactly at the listed places (so the
 * list stays true), and that every other case is identical.
 *
 * A place is `request N status|body|header <name>` (N counts the case's
 * requests from 1), `final scrape …` or `final api …` (the
 * `/api/v1/metrics` after the case).
 * @module
 */

/**
 * Error bodies that start with one of these prefixes are compared up to the
 * prefix only: the detail after it is Go-library wording (protobuf text
 * dumps, random error order) that changed between Pushgateway releases and
 * that no client parses (docs/compatibility.md, The consistency check: the
 * detail after the prefix is ours).
 */
export const FREE_WORDING_AFTER: readonly string[] = [
  "pushed metrics are invalid or inconsistent with existing metrics: ",
];

/**
 * Details after a free-wording prefix that are compared all the same, in a
 * shape that leaves out the Go-library wording: the match of `pattern` is
 * replaced by `shape` and the rest of the body is kept, so a message that
 * adds to the reference's shows as a body difference. The type conflict's
 * series dump and type are those of whichever group 1.5.1 merges first
 * (docs/compatibility.md, The consistency check), hence `<series>` and
 * `<TYPE>`.
 */
export const COMPARED_DETAILS: readonly {
  readonly pattern: RegExp;
  readonly shape: string;
}[] = [
  {
    pattern: /^collected metric ("(?:[^"\\]|\\.)*") \{.*?\} is not a [A-Z]+/s,
    shape: "collected metric $1 {<series>} is not a <TYPE>",
  },
];

export interface Deviation {
  /** The case's name in `differential_cases.ts`. */
  readonly case: string;
  /** Exactly the places that differ. */
  readonly differences: readonly string[];
  /** What the reference does and what Pushvault does instead. */
  readonly what: string;
  /** Why we chose it. */
  readonly why: string;
  /**
   * The sections of the repository's documents that describe it, e.g.
   * `"compatibility.md: HELP conflicts; Deliberate differences"`.
   */
  readonly doc: string;
  /**
   * The reference's scrape differs from one scrape to the next: the test
   * scrapes it until two outputs differ and checks that Pushvault's (stable)
   * output is one of them.
   */
  readonly referenceVaries?: true;
  /**
   * At each listed body place Pushvault's message is the reference's (as
   * compared) followed by text that matches this: an addition, not a
   * change.
   */
  readonly messageAdds?: RegExp;
}

const REFUSED = ["status", "body", "header content-type"] as const;
/** The places of request `n` when one side refuses (400) and the other accepts. */
function refused(n: number): string[] {
  return REFUSED.map((place) => `request ${n} ${place}`);
}
/** The places of a scrape that answers 500 on one side and 200 on the other. */
function scrapeFails(where: string): string[] {
  return REFUSED.map((place) => `${where} ${place}`);
}

export const DEVIATIONS: readonly Deviation[] = [
  // The reference's traps: one push that breaks others, answers by chance.
  {
    case: "HELP conflict across groups",
    differences: ["final scrape body"],
    referenceVaries: true,
    what:
      "1.5.1 exposes the HELP of whichever group its map iteration meets first, so it changes from scrape to scrape; Pushvault always exposes the same one (the first non-empty HELP in group order), one of 1.5.1's outcomes",
    why:
      "a scrape should not depend on map order; every output Pushvault gives is one 1.5.1 can give",
    doc: "compatibility.md: HELP conflicts; Deliberate differences",
  },
  {
    case: "instance alias trap",
    differences: [
      ...refused(3),
      ...scrapeFails("request 4"),
      ...scrapeFails("final scrape"),
      "final api body",
    ],
    what:
      'the refused push to {job="j1",instance=""} (an alias of {job="j1"}) creates an alias group in 1.5.1 whose metadata series duplicate those of {job="j1"}: every later push anywhere is refused and every scrape answers 500; Pushvault refuses the push (same 400) without creating the alias group, so later pushes and scrapes work',
    why: "a single bad push must not break the whole gateway, nor any scrape",
    doc: "compatibility.md: Deliberate differences",
  },
  {
    case: "instance alias trap with the alias pushed first",
    differences: [
      ...refused(3),
      ...scrapeFails("request 4"),
      ...scrapeFails("final scrape"),
      "final api body",
    ],
    what:
      'as in "instance alias trap", with the alias group {job="j1",instance=""} pushed first: the refused push to {job="j1"} poisons 1.5.1, not Pushvault',
    why: "a single bad push must not break the whole gateway, nor any scrape",
    doc: "compatibility.md: Deliberate differences",
  },
  {
    case: "invalid UTF-8 in a grouping label value",
    differences: [
      "request 1 body",
      ...scrapeFails("request 2"),
      ...scrapeFails("final scrape"),
      "final api body",
    ],
    what:
      "1.5.1 accepts the path, then refuses the push in its consistency check (400 with the inconsistency prefix) after creating a group that can never be scraped (every scrape 500 until it is deleted); Pushvault refuses the grouping key up front (400, own message, no side effect)",
    why:
      "reject invalid UTF-8 grouping values up front: a group that cannot be scraped must never be created",
    doc: "compatibility.md: Deliberate differences",
  },
  {
    case: "invalid UTF-8 in the job",
    differences: [
      "request 1 body",
      ...scrapeFails("request 2"),
      ...scrapeFails("final scrape"),
      "final api body",
    ],
    what: 'as in "invalid UTF-8 in a grouping label value", for the job',
    why: "reject invalid UTF-8 grouping values up front",
    doc: "compatibility.md: Deliberate differences",
  },
  {
    case: "invalid UTF-8 in a base64 grouping label value",
    differences: [
      "request 1 body",
      ...scrapeFails("request 2"),
      ...scrapeFails("final scrape"),
      "final api body",
    ],
    what:
      'as in "invalid UTF-8 in a grouping label value", for a value given as @base64',
    why: "reject invalid UTF-8 grouping values up front",
    doc: "compatibility.md: Deliberate differences",
  },
  {
    case: "invalid job@base64 on POST",
    differences: ["request 2 status"],
    what:
      "after a refused POST to an invalid job@base64, 1.5.1 never answers another POST to job@base64 without labels (its handler lock stays held); Pushvault answers it",
    why: "the 1.5.1 deadlock, fixed upstream in 1.6.1",
    doc: "compatibility.md: The 1.5.1 deadlock",
  },
  {
    case: "invalid job@base64 on DELETE with labels",
    differences: [
      "request 3 status",
      "request 4 body",
      "final scrape body",
      "final api body",
    ],
    what:
      "the same deadlock for DELETE to job@base64 with labels: 1.5.1 never answers the next such DELETE, so its group stays; Pushvault deletes it",
    why: "the 1.5.1 deadlock, fixed upstream in 1.6.1",
    doc: "compatibility.md: The 1.5.1 deadlock",
  },
  {
    case: "protobuf body with a metric name that is not legacy-valid",
    differences: [
      ...refused(1),
      "request 2 body",
      "final scrape body",
      "final api body",
    ],
    what:
      "1.5.1 stores the protobuf family bad-name and exposes it verbatim (a scrape Prometheus cannot parse); Pushvault refuses the push with 400",
    why:
      "reject invalid protobuf metric names up front (the push could only break scrapes)",
    doc: "compatibility.md: Protobuf; Deliberate differences",
  },
  {
    case: "Go runtime family pushed with another type",
    differences: [...refused(1), "final scrape body", "final api body"],
    what:
      "1.5.1 refuses an untyped go_goroutines because its own go_goroutines is a gauge (and records the failure); Pushvault exposes no go_* families, so the push is accepted",
    why:
      "go_* metrics are meaningless for a Deno process and omitted; the own-family collision set is smaller",
    doc: "compatibility.md: The gateway's own metrics; Deliberate differences",
  },
  {
    case: "push_failure_time_seconds in a body on an existing group",
    differences: ["request 3 body", "final scrape body", "final api body"],
    what:
      "1.5.1 lets a pushed gauge push_failure_time_seconds (value 9, label x) replace the gateway's own series of an existing group, without HELP; Pushvault always keeps its own value",
    why:
      "the README (deliberate differences) says pushed metrics of these names are overridden; the metadata must stay trustworthy",
    doc: "compatibility.md: Metadata metrics; Deliberate differences",
  },
  {
    case: "protobuf body that is truncated",
    differences: ["request 1 body", "request 2 body"],
    what:
      'both refuse with 400 "unexpected EOF"; Pushvault adds which message of the body is truncated',
    why:
      "the wording after the error prefix is ours; the decoder message stays the prefix",
    doc: "compatibility.md: Error responses; Deliberate differences",
  },

  {
    case: "type conflict across groups",
    differences: ["request 2 body", "request 3 body"],
    messageAdds: /^ \(it is a GAUGE in group \{job="t1"\}\)$/,
    what:
      'both refuse the push with the same message, which names only the pushed series; Pushvault adds the group that holds the family with the other type: "... is not a GAUGE (it is a GAUGE in group {job="t1"})"',
    why:
      "the reference's message leaves the pusher guessing which group holds the family; the Pushgateway's message stays first, so whatever matches it still does",
    doc: "compatibility.md: The consistency check",
  },
  {
    case: "failed push by a type conflict sets the failure time",
    differences: ["request 2 body"],
    messageAdds: /^ \(it is a COUNTER in group \{job="a"\}\)$/,
    what:
      'as in "type conflict across groups": Pushvault adds the group that holds the family',
    why: 'as in "type conflict across groups"',
    doc: "compatibility.md: The consistency check; Metadata metrics",
  },
  {
    case: "unchecked push of a type conflict across groups",
    differences: [...scrapeFails("request 4"), ...scrapeFails("final scrape")],
    what:
      "with --push.disable-consistency-check both store the conflicting gauge m next to the counter m; every 1.5.1 scrape then answers 500, while Pushvault answers 200 with everything consistent (the counter m of the first group, all other families) and counts the series it left out",
    why:
      "a bad push can never break a scrape; the reference's 500 is its failure mode, not a contract",
    doc: "compatibility.md: Validation; Deliberate differences",
  },
  {
    case: "unchecked push of a duplicate series",
    differences: [...scrapeFails("request 2"), ...scrapeFails("final scrape")],
    what:
      "with --push.disable-consistency-check both store a push carrying dup twice; 1.5.1 scrapes answer 500, Pushvault answers 200 with the first dup and the rest of the push",
    why: "a bad push can never break a scrape",
    doc: "compatibility.md: Validation; Deliberate differences",
  },

  // Newest release behaviour.
  {
    case: "Content-Encoding GZIP in upper case",
    differences: [...refused(1), "final scrape body", "final api body"],
    what:
      "1.5.1 matches Content-Encoding case-sensitively and reads the plain body; Pushvault, like 1.6.0+, gunzips it and refuses the plain body as invalid gzip",
    why: "follow the newest release",
    doc: "compatibility.md: Compression; Deliberate differences",
  },
  {
    case: "Content-Encoding snappy",
    differences: [...refused(1), "final scrape body", "final api body"],
    what:
      "1.5.1 ignores Content-Encoding snappy and reads the plain body; Pushvault, like 1.6.0+, decodes snappy and refuses the plain body",
    why: "follow the newest release",
    doc: "compatibility.md: Compression; Deliberate differences",
  },

  // Ours.
  {
    case: "sample value longer than any float literal",
    differences: [...refused(1), "final scrape body", "final api body"],
    what:
      "1.5.1 reads a value of 4,097 zeros as 0; Pushvault refuses any value or timestamp token over 4,096 bytes with 400, quoting only its start",
    why:
      "no float64 literal needs that many characters, and a 58 MB number must not be turned into a string (3.2 GB) to find that out",
    doc: "security.md: Limits; compatibility.md: Deliberate differences",
  },
  {
    case: "gzip body that is truncated",
    differences: [
      ...refused(1),
      ...refused(2),
      "request 4 body",
      "final scrape body",
      "final api body",
    ],
    what:
      "1.5.1 answers 200 to a gzip body cut in its 8-byte trailer (storing the samples) or right after its 10-byte header (an empty push), because its text parser takes the gzip reader's error for the end of input; Pushvault refuses both with 400 unexpected EOF, as both do for a cut inside the data",
    why:
      "an acknowledged push must be exactly what the client sent; a truncated body is a transport error to report, not data",
    doc: "compatibility.md: Compression; Deliberate differences",
  },
  {
    case: "OpenMetrics body with the OpenMetrics Content-Type",
    differences: ["final scrape body", "final api body"],
    what:
      "1.5.1 reads every non-protobuf body as text 0.0.4, so an OpenMetrics counter om becomes an untyped om_total without HELP; Pushvault parses a body whose Content-Type is application/openmetrics-text as OpenMetrics (a counter om_total with its HELP)",
    why:
      "src/exposition/openmetrics_parse.ts exists for it: honouring the declared format keeps types and HELP; a body without that Content-Type is still read as text (see the case sent as text/plain)",
    doc: "compatibility.md: Push bodies; Deliberate differences",
  },
];
