import assert from "node:assert/strict";
import { MAX_GROUP_ROWS } from "../../src/ui/group_cards.ts";
import { startTestGateway } from "../test_utils.ts";

Deno.test("GET /group?id=…&part=body reads only the series the card shows", async () => {
  await using pv = await startTestGateway();
  // Seven families of 1,200 series: the card shows 1,000 of each of the
  // first five and none of the rest (MAX_GROUP_ROWS in all).
  let body = "";
  for (let f = 0; f < 7; f++) {
    body += `# TYPE f${f} gauge\n`;
    for (let i = 1199; i >= 0; i--) body += `f${f}{i="${i}"} ${i}\n`;
  }
  const put = await fetch(`${pv.url}/metrics/job/big`, { method: "PUT", body });
  await put.body?.cancel();
  assert.equal(put.status, 200);
  const store = pv.gw.store;
  let rowsRead = 0;
  const readRows = store.familyRowsAfter.bind(store);
  store.familyRowsAfter = (familyRow, afterId, limit) => {
    const rows = readRows(familyRow, afterId, limit);
    rowsRead += rows.length;
    return rows;
  };
  store.groupFamilies = () => {
    throw new Error("a card must not read its group whole");
  };
  const id = encodeURIComponent('{job="big"}');
  const res = await fetch(`${pv.url}/group?id=${id}&part=body`);
  const text = await res.text();
  assert.equal(res.status, 200);
  const values = [...text.matchAll(/<td class="value">/g)].length;
  assert.equal(values, MAX_GROUP_ROWS);
  assert.equal(
    [...text.matchAll(/1200 series/g)].length,
    7,
    "each family names all its series",
  );
  assert.equal([...text.matchAll(/\D200 more series not shown/g)].length, 5);
  assert.equal([...text.matchAll(/1200 more series not shown/g)].length, 2);
  // Pages end where a series may go on: at most a page more per family.
  assert.ok(
    rowsRead >= MAX_GROUP_ROWS && rowsRead <= 2 * MAX_GROUP_ROWS,
    `${rowsRead} rows read`,
  );
});
