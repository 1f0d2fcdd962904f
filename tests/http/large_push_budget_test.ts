import assert from "node:assert/strict";
import { scrapePushed, startTestGateway } from "../test_utils.ts";

/** `series` gauges of one family, about 16 bytes each. */
function seriesText(series: number): string {
  let text = "# TYPE big gauge\n";
  for (let i = 0; i < series; i++) text += `big{id="${i}"} ${i}\n`;
  return text;
}

Deno.test("large pushes past the budget's queue are answered 503 naming it, and change nothing; the others are stored whole", async () => {
  // A budget of 256 KiB being prepared and 1 MiB waiting: of eight pushes of
  // about 440 KiB sent at once, one is prepared, two wait, the rest are
  // refused.
  await using gw = await startTestGateway(["--storage.max-body-bytes=1MiB"]);
  const series = 20_000;
  const dir = await Deno.makeTempDir({ prefix: "pushvault-budget-" });
  try {
    const file = `${dir}/body.txt`;
    await Deno.writeTextFile(file, seriesText(series));
    const size = (await Deno.stat(file)).size;
    assert.ok(size > 400 * 1024 && size < 512 * 1024);
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const out = await new Deno.Command("curl", {
          args: [
            "-s",
            "-X",
            "PUT",
            "--data-binary",
            `@${file}`,
            "-w",
            "\n%{http_code}",
            `${gw.url}/metrics/job/budget/instance/i${k}`,
          ],
          stdout: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        const cut = text.lastIndexOf("\n");
        return {
          instance: `i${k}`,
          status: Number(text.slice(cut + 1)),
          body: text.slice(0, cut),
        };
      }),
    );
    const stored = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 503);
    assert.equal(stored.length + refused.length, answers.length);
    assert.ok(stored.length >= 1, JSON.stringify(answers));
    assert.ok(refused.length >= 1, JSON.stringify(answers));
    for (const r of refused) {
      assert.match(
        r.body,
        /^too many large pushes at once: \d+ bytes are being prepared and \d+ bytes wait, and this push's \d+ bytes would pass the queue of 1048576 bytes \(--storage\.max-body-bytes\); try again\n?$/,
      );
    }
    const scrape = await scrapePushed(gw.url);
    for (const a of answers) {
      const lines = scrape.split("\n").filter((line) =>
        line.startsWith("big{") && line.includes(`instance="${a.instance}"`)
      );
      assert.equal(lines.length, a.status === 200 ? series : 0, a.instance);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
