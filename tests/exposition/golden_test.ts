import assert from "node:assert/strict";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { renderFamilies } from "../../src/exposition/text_render.ts";
import { GOLDEN_CASES } from "../golden/cases.ts";
import { isOwnFamily, normalizeScrape } from "../golden/normalize.ts";
import { expectedScrape } from "./golden_helpers.ts";

const GOLDEN_DIR = new URL("../golden/", import.meta.url);

function golden(name: string, suffix: string): URL {
  return new URL(`${name}${suffix}`, GOLDEN_DIR);
}

Deno.test("renderFamilies() matches the Pushgateway's scrape of each golden case", async (t) => {
  for (const c of GOLDEN_CASES) {
    await t.step(c.name, async () => {
      const want = await Deno.readTextFile(golden(c.name, ".scrape.txt"));
      const got = normalizeScrape(renderFamilies(expectedScrape(c.pushes)));
      assert.equal(got, want);
    });
  }
});

Deno.test("decodeDelimited() and renderFamilies() reproduce the Pushgateway's text from its protobuf scrape", async (t) => {
  for (const c of GOLDEN_CASES) {
    await t.step(c.name, async () => {
      const want = await Deno.readTextFile(golden(c.name, ".scrape.txt"));
      const families = decodeDelimited(
        await Deno.readFile(golden(c.name, ".scrape.pb")),
      ).filter((f) => !isOwnFamily(f.name));
      assert.equal(normalizeScrape(renderFamilies(families)), want);
    });
  }
});

Deno.test("GOLDEN_CASES has golden files for every case and no others", async () => {
  const stems = new Set<string>();
  for await (const entry of Deno.readDir(GOLDEN_DIR)) {
    const match = /^(.*)\.(scrape\.txt|scrape\.pb|api\.json)$/.exec(
      entry.name,
    );
    if (match?.[1] !== undefined) stems.add(match[1]);
  }
  assert.deepEqual(
    [...stems].sort(),
    GOLDEN_CASES.map((c) => c.name).sort(),
  );
  assert.ok(GOLDEN_CASES.length >= 25);
});
