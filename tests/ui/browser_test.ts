/**
 * The web UI in a real headless Chromium (Debian's `/usr/bin/chromium`,
 * installed by scripts/setup.sh), driven with playwright-core: the page
 * loads without script errors, expands and remembers expansion, filters,
 * renders hostile labels as text, and its delete buttons delete.
 */

import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so the server's import map stays runtime-only
import { chromium } from "npm:playwright-core@1.65.1";
// deno-lint-ignore no-import-prefix -- see above
import type { BrowserContext, Page } from "npm:playwright-core@1.65.1";
import { parseFlags } from "../../src/cli/flags.ts";
import { PAGE_GROUPS } from "../../src/ui/group_cards.ts";
import { startTestGateway } from "../test_utils.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Written once per run so a person can look at the page. */
const SHARED_SCREENSHOT = "/tmp/pushvault-ui.png";
const HOSTILE = "<script>alert(1)</script>";

const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

function b64url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function push(url: string, body: string, method = "PUT") {
  const res = await fetch(url, { method, body });
  await res.body?.cancel();
  return res.status;
}

/** Grouping labels of every group the JSON API reports, as `k=v,…` strings. */
async function apiGroups(base: string): Promise<string[]> {
  const body = await (await fetch(`${base}/api/v1/metrics`)).json() as {
    data: { labels: Record<string, string> }[];
  };
  return body.data.map((g) =>
    Object.entries(g.labels).sort().map(([k, v]) => `${k}=${v}`).join(",")
  ).sort();
}

interface Browser extends AsyncDisposable {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught script errors and console errors seen so far. */
  readonly errors: string[];
  /** alert()/confirm() dialogs the page opened (none expected). */
  readonly dialogs: string[];
  readonly dir: string;
}

async function openBrowser(): Promise<Browser> {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-browser-" });
  const context = await chromium.launchPersistentContext(`${dir}/profile`, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return {
    context,
    page,
    errors,
    dialogs,
    dir,
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: hasChromium
    ? "web UI in Chromium expands, filters, escapes and deletes groups"
    : `web UI in Chromium (skipped: ${CHROMIUM} is not installed; apt-get install -y chromium)`,
  ignore: !hasChromium,
  // playwright-core keeps its own timers and pipes to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const flags = ["--web.route-prefix=/pg", "--web.enable-admin-api"];
    const parsed = parseFlags(["--web.listen-address=127.0.0.1:0", ...flags]);
    assert.equal(parsed.type, "run");
    await using pv = await startTestGateway(flags, {
      flagValues: parsed.type === "run" ? parsed.flagValues : {},
    });
    const base = `${pv.url}/pg`;
    const batch = `# HELP job_duration_seconds Duration of the batch job.
# TYPE job_duration_seconds gauge
job_duration_seconds 12.5
# TYPE records_total counter
records_total{kind="ok"} 42
`;
    assert.equal(
      await push(`${base}/metrics/job/batch/instance/host1`, batch),
      200,
    );
    assert.equal(
      await push(
        `${base}/metrics/job/backup/instance/db1`,
        "# TYPE records_total gauge\nrecords_total 1\n",
      ),
      400, // records_total is a counter in group batch
    );
    assert.equal(
      await push(
        `${base}/metrics/job/xss/label@base64/${b64url(HOSTILE)}`,
        "x 1\n",
      ),
      200,
    );
    await using browser = await openBrowser();
    const { page } = browser;
    const group = (job: string) =>
      page.locator("article.group", {
        has: page.locator(`.badge-job .badge-value`, { hasText: job }),
      });

    await t.step("the page loads and is screenshotted", async () => {
      await page.goto(`${base}/`);
      assert.equal(await page.locator("article.group").count(), 3);
      // A card's families are fetched when it is opened, not sent with the page.
      assert.equal(await page.locator("details.family").count(), 0);
      await group("batch").locator("summary.group-head").click();
      await group("batch").locator("details.family", {
        hasText: "records_total",
      })
        .locator("summary").click();
      await group("backup").locator("summary.group-head").click();
      await page.evaluate("window.scrollTo(0, 0)");
      await page.screenshot({ path: `${browser.dir}/ui.png`, fullPage: true });
      await Deno.copyFile(`${browser.dir}/ui.png`, SHARED_SCREENSHOT);
      assert.ok((await Deno.stat(SHARED_SCREENSHOT)).size > 10_000);
    });

    await t.step(
      "a refused push shows the failure badge and its error",
      async () => {
        const backup = group("backup");
        assert.equal(
          await backup.locator(".badge-failed").textContent(),
          "Last push failed!",
        );
        const message =
          'pushed metrics are invalid or inconsistent with existing metrics: collected metric "records_total" {instance="db1",job="backup"} is not a COUNTER (it is a COUNTER in group {instance="host1",job="batch"})';
        // The banner and the push log show the message stored in `pushes`.
        assert.equal(
          await backup.locator(".alert .error-text").textContent(),
          message,
        );
        assert.equal(
          await backup.locator(".push-error .error-text").first().textContent(),
          message,
        );
      },
    );

    await t.step(
      "a hostile label value renders as text and runs nothing",
      async () => {
        assert.equal(
          await group("xss").locator(".group-head .badge-label .badge-value")
            .textContent(),
          HOSTILE,
        );
        assert.deepEqual(browser.dialogs, []);
      },
    );

    await t.step(
      "expanding shows the families, and survives a reload",
      async () => {
        const isOpen = async (job: string) =>
          await group(job).locator("details.group-details").getAttribute(
            "open",
          ) !== null;
        assert.ok(await isOpen("batch"));
        const row = group("batch").locator("table.series tr", {
          hasText: 'kind="ok"',
        });
        assert.equal(await row.locator("td.value").textContent(), "42");
        await page.reload();
        // Restored from sessionStorage: batch and its family open, xss closed.
        assert.ok(await isOpen("batch"));
        await row.waitFor(); // the body is fetched again
        assert.ok(await row.isVisible());
        assert.ok(!(await isOpen("xss")));
      },
    );

    await t.step(
      "the search box filters groups by label name or value",
      async () => {
        // The server filters: the list is replaced once it answers.
        await page.fill("#search", "db1");
        await group("batch").waitFor({ state: "detached" });
        assert.equal(await page.locator("article.group").count(), 1);
        assert.ok(await group("backup").isVisible());
        assert.equal(await page.textContent("#group-count"), "1 of 3 groups");
        assert.equal(new URL(page.url()).search, "?q=db1");
        await page.fill("#search", "label=");
        await group("xss").waitFor();
        assert.equal(await page.locator("article.group").count(), 1);
        await page.fill("#search", "no-such-thing");
        await page.locator("#no-match").waitFor();
        assert.equal(await page.locator("article.group").count(), 0);
        await page.fill("#search", "");
        await group("batch").waitFor();
        assert.equal(await page.locator("article.group:visible").count(), 3);
        assert.equal(await page.textContent("#group-count"), "3 groups");
      },
    );

    await t.step(
      "Delete group asks, then deletes the group and reloads",
      async () => {
        const button = group("backup").locator("[data-action=delete-group]");
        await button.click();
        const dialog = page.locator("dialog#confirm");
        assert.ok(await dialog.isVisible());
        assert.equal(
          await page.textContent("#confirm-message"),
          'Do you really want to delete all metrics of group {job="backup", instance="db1"}?',
        );
        // Cancel keeps the group.
        await page.click("#confirm-cancel");
        assert.ok(!(await dialog.isVisible()));
        assert.ok(
          (await apiGroups(pv.url + "/pg")).includes("instance=db1,job=backup"),
        );
        await button.click();
        await Promise.all([
          page.waitForEvent("load"),
          page.click("#confirm-ok"),
        ]);
        assert.equal(await page.locator("article.group").count(), 2);
        assert.deepEqual(await apiGroups(base), [
          "instance=host1,job=batch",
          `job=xss,label=${HOSTILE}`,
        ]);
      },
    );

    await t.step("Delete all groups wipes the store", async () => {
      assert.equal(await page.textContent("#delete-all .counter"), "2");
      await page.click("#delete-all");
      await Promise.all([
        page.waitForEvent("load"),
        page.click("#confirm-ok"),
      ]);
      assert.deepEqual(await apiGroups(base), []);
      assert.ok(await page.locator("#delete-all").isDisabled());
      assert.ok(await page.getByText("No metric groups yet").isVisible());
    });

    await t.step("the Status tab shows the startup flags", async () => {
      await page.click("a.tab >> text=Status");
      assert.equal(new URL(page.url()).pathname, "/pg/status");
      const prefix = page.locator(".kv tr", { hasText: "web.route-prefix" });
      assert.equal(await prefix.locator("td").textContent(), "/pg");
    });

    await t.step(
      "the icon a browser asks the root for, outside the prefix, is one it can draw",
      async () => {
        // Chromium asks `/favicon.ico` of the origin for a page that names
        // no icon, such as the Scrape output tab's.
        const res = await page.goto(`${pv.url}/favicon.ico`);
        assert.equal(res?.status(), 200);
        assert.equal(
          await page.evaluate(
            "new Promise((ok) => { const i = document.images[0]; i.onerror = () => ok(0); i.complete ? ok(i.naturalWidth) : i.onload = () => ok(i.naturalWidth); })",
          ),
          32,
        );
      },
    );

    await t.step("no script errors or CSP violations happened", () => {
      assert.deepEqual(browser.errors, []);
    });
  },
});

Deno.test({
  name: hasChromium
    ? "web UI in Chromium shows a big store a page at a time, and more on request"
    : `web UI in Chromium, paging (skipped: ${CHROMIUM} is not installed)`,
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using pv = await startTestGateway();
    const groups = PAGE_GROUPS + 5;
    for (let i = 0; i < groups; i++) {
      const n = String(i).padStart(3, "0");
      assert.equal(await push(`${pv.url}/metrics/job/j${n}`, `a ${i}\n`), 200);
    }
    await using browser = await openBrowser();
    const { page } = browser;

    await t.step(
      "the first page has PAGE_GROUPS cards and Show more",
      async () => {
        await page.goto(`${pv.url}/`);
        assert.equal(await page.locator("article.group").count(), PAGE_GROUPS);
        assert.equal(
          await page.textContent("#group-count"),
          `${groups} groups`,
        );
        assert.ok(await page.locator("#more").isVisible());
      },
    );

    await t.step("Show more appends the rest in place", async () => {
      await page.click("[data-action=more]");
      await page.locator("#more").waitFor({ state: "detached" });
      assert.equal(await page.locator("article.group").count(), groups);
      assert.equal(new URL(page.url()).search, "");
      const last = page.locator("article.group").last();
      assert.equal(await last.locator(".badge-value").textContent(), "j104");
      // A card that came with "more" opens like the others.
      await last.locator("summary.group-head").click();
      await last.locator("details.family", { hasText: "push_time_seconds" })
        .waitFor();
    });

    await t.step("the filter finds a group beyond the first page", async () => {
      await page.fill("#search", "j103");
      // The list is replaced once the server answers.
      await page.locator("article.group", {
        has: page.locator(".badge-value", { hasText: "j000" }),
      }).waitFor({ state: "detached" });
      assert.equal(await page.locator("article.group").count(), 1);
      assert.equal(
        await page.textContent("#group-count"),
        `1 of ${groups} groups`,
      );
    });

    await t.step("no script errors happened", () => {
      assert.deepEqual(browser.errors, []);
    });
  },
});
