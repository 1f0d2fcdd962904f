/**
 * The push worker's preparation (preparePushInSlices: a text body's scalar
 * families handed over by the parser a slice at a time, the rest decoded
 * whole) against the inline one (preparePush): the same prepared families,
 * problems and errors, for bodies whose families pass a slice, interleave,
 * get their HELP after their samples, or are refused in several ways.
 */
import assert from "node:assert/strict";
import { parseText } from "../../src/exposition/text_parse.ts";
import type { Metric } from "../../src/exposition/model.ts";
import {
  prepareChunkedInSlices,
  preparePush,
  preparePushInSlices,
} from "../../src/push/prepare_push.ts";
import {
  type Answer,
  assemble,
  type Assembly,
  type Message,
  messagesOf,
} from "../../src/push/worker_wire.ts";
import type { PushLimits } from "../../src/push/limits.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";
import { errorAsData } from "../test_utils.ts";

const encoder = new TextEncoder();

const LIMITS: PushLimits = {
  maxSeriesPerPush: 200_000,
  maxLabelNameLength: 64,
  maxLabelValueLength: 64,
  maxSeries: 0,
  readTimeoutMs: 0,
};

/** Lines `name{s="<i>"} <i>` for i in [from, to). */
function lines(name: string, from: number, to: number, extra = ""): string {
  let text = "";
  for (let i = from; i < to; i++) text += `${name}{s="${i}"${extra}} ${i}\n`;
  return text;
}

const HISTOGRAM = "# TYPE h histogram\n" +
  'h_bucket{s="a",le="1"} 1\nh_bucket{s="a",le="+Inf"} 2\n' +
  'h_sum{s="a"} 0.5\nh_count{s="a"} 2\n';

const CASES: { name: string; body: string; limits?: PushLimits }[] = [
  {
    name: "one gauge of several slices, a HELP after its samples",
    body: "# TYPE g gauge\n" + lines("g", 0, 40_000) + "# HELP g late help\n",
  },
  {
    name: "families interleaved, a histogram between them",
    body: "# TYPE a counter\n# TYPE b gauge\n" + lines("a", 0, 20_000) +
      lines("b", 0, 17_000) + HISTOGRAM + lines("a", 20_000, 35_000) +
      "small 1\n" + lines("b", 17_000, 17_500),
  },
  {
    name: "the gateway's own families among them",
    body: lines("push_time_seconds", 0, 17_000) + lines("g", 0, 20_000),
  },
  {
    name: "untyped series exactly one slice",
    body: lines("u", 0, 16_384),
  },
  {
    name: "a parse error after slices were handed over",
    body: lines("g", 0, 40_000) + "g{x=1} 2\n",
  },
  {
    name: "a reserved label name in a late slice and in a later family",
    body: lines("g", 0, 30_000) + 'g{__r="1"} 1\n' + lines("k", 0, 20) +
      'k{__q="1"} 1\n',
  },
  {
    name: "problems in a small family before a large one",
    body: 'k{__q="1"} 1\n' + lines("g", 0, 40_000, ',__r="x"'),
  },
  {
    name: "a timestamp in a late slice",
    body: lines("g", 0, 20_000) + "g 1 1700000000000\n" +
      lines("h", 0, 10),
  },
  {
    name: "too many series, then a parse error",
    body: lines("g", 0, 40_000) + "g{x=1} 2\n",
    limits: { ...LIMITS, maxSeriesPerPush: 20_000 },
  },
  {
    name: "too many series",
    body: lines("g", 0, 40_000) + lines("h", 0, 5),
    limits: { ...LIMITS, maxSeriesPerPush: 40_004 },
  },
  {
    name: "a label value over its limit after slices were handed over",
    body: lines("g", 0, 20_000) + `g{s="${"v".repeat(65)}"} 1\n`,
  },
  {
    name: "a text holding a separator after slices were handed over",
    body: lines("g", 0, 20_000) + 'g{s="a\u0001b"} 1\n' +
      lines("g", 20_000, 20_010),
  },
  {
    name: "duplicate series across slices",
    body: lines("g", 0, 20_000) + lines("g", 0, 20_000),
  },
  {
    name: "a small push of several families, a histogram among them",
    body: lines("a", 0, 1_500) + HISTOGRAM + lines("b", 0, 2_000) +
      "# HELP a late\n",
  },
  {
    name: "a small push with duplicate series",
    body: lines("a", 0, 300) + lines("a", 0, 300),
  },
];

/** The outcome as plain data: what was thrown, or problems and families. */
function outcomeOf(prepare: () => unknown): unknown {
  try {
    const ready = prepare() as {
      problems: readonly string[];
      seriesCount: number;
      prepared?: readonly { rendered: string | Uint8Array }[];
    };
    return {
      problems: ready.problems,
      seriesCount: ready.seriesCount,
      prepared: ready.prepared?.map((f) => ({
        ...f,
        rendered: typeof f.rendered === "string"
          ? encoder.encode(f.rendered)
          : f.rendered,
      })),
    };
  } catch (error) {
    return errorAsData(error);
  }
}

/** What the worker gets for case `c`, pushed to the group `{job="j"}`. */
function pushOf(c: (typeof CASES)[number]) {
  return {
    body: encoder.encode(c.body),
    contentType: null,
    key: makeGroupingKey(new Map([["job", "j"]])),
    utf8Names: false,
    limits: c.limits ?? LIMITS,
  };
}

Deno.test("preparePushInSlices() gives what preparePush() gives inline", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const push = () => pushOf(c);
      const inline = outcomeOf(() => preparePush(push(), true));
      const sliced = outcomeOf(() => preparePushInSlices(push())) as Record<
        string,
        unknown
      >;
      assert.deepEqual(sliced, inline);
    });
  }
});

/**
 * The push as the worker sends it (its slices while it parses, then its
 * answer in messages) and the HTTP thread puts it back together.
 */
function throughTheWire(
  push: Parameters<typeof prepareChunkedInSlices>[0],
  assemblies: Map<number, Assembly>,
): unknown {
  const messages: Message[] = [];
  let answer: Answer | undefined;
  try {
    const ready = prepareChunkedInSlices(
      push,
      (slice, keys, labels) => messages.push({ id: 7, slice, keys, labels }),
    );
    messages.push(
      ...messagesOf(
        ready.prepared === undefined
          ? {
            id: 7,
            outcome: "problems",
            seriesCount: ready.seriesCount,
            problems: ready.problems,
            families: ready.shapes,
          }
          : {
            id: 7,
            outcome: "prepared",
            seriesCount: ready.seriesCount,
            prepared: ready.prepared,
          },
      ),
    );
  } catch (error) {
    // The worker answers with the error after the slices it sent.
    messages.push({
      id: 7,
      outcome: "error",
      error: { type: "bug", message: String(error) },
    });
    for (const message of messages) assemble(assemblies, message);
    throw error;
  }
  for (const message of messages) {
    answer = assemble(assemblies, message) ?? answer;
  }
  if (answer?.outcome !== "prepared") return answer;
  return {
    problems: [],
    seriesCount: answer.seriesCount,
    prepared: answer.prepared,
  };
}

Deno.test("a push sent by the worker slice by slice while it parses is put back together as preparePush() prepares it inline", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const push = () => pushOf(c);
      const inline = outcomeOf(() => preparePush(push(), true)) as Record<
        string,
        unknown
      >;
      const assemblies = new Map<number, Assembly>();
      const wire = outcomeOf(() => throughTheWire(push(), assemblies));
      if (inline.prepared !== undefined) assert.deepEqual(wire, inline);
      // A refused push leaves nothing of its slices behind.
      assert.equal(assemblies.size, 0);
    });
  }
});

Deno.test("parseText() with slices hands over every scalar metric once, in order, and keeps the rest", () => {
  const body = encoder.encode(
    "# TYPE a counter\n" + lines("a", 0, 2_500) + HISTOGRAM +
      lines("b", 0, 1_500) + lines("a", 2_500, 3_000) + "# HELP b late\n",
  );
  const whole = parseText(body);
  const taken = new Map<string, Metric[]>();
  const sliced = parseText(body, {
    slices: {
      size: 1_000,
      take: (family, metrics) => {
        assert.equal(metrics.length, 1_000);
        const list = taken.get(family.name) ?? [];
        list.push(...metrics);
        taken.set(family.name, list);
      },
    },
  });
  assert.deepEqual(sliced.map((f) => f.name), whole.map((f) => f.name));
  assert.deepEqual(
    sliced.map((f) => [f.type, f.help]),
    whole.map((f) => [f.type, f.help]),
  );
  for (const family of whole) {
    const got = sliced.find((f) => f.name === family.name);
    assert.deepEqual(
      [...(taken.get(family.name) ?? []), ...(got?.metrics ?? [])],
      family.metrics,
    );
  }
  // The histogram is kept whole; `a` (3,000 series) was handed over whole.
  assert.equal(taken.has("h"), false);
  assert.equal(sliced.find((f) => f.name === "a")?.metrics.length, 0);
});

Deno.test("a small prepared push crosses in one message, a larger one in several", () => {
  const count = (body: string) => {
    const ready = prepareChunkedInSlices(pushOf({ name: "", body }));
    const prepared = ready.prepared ?? [];
    return [...messagesOf({
      id: 1,
      outcome: "prepared",
      seriesCount: ready.seriesCount,
      prepared,
    })].length;
  };
  assert.equal(count(lines("a", 0, 2_000) + lines("b", 0, 2_096)), 1);
  // Header, each family's keys and labels, the end.
  assert.equal(count(lines("a", 0, 2_000) + lines("b", 0, 2_097)), 6);
});
