import assert from "node:assert/strict";
import { PushBudget } from "../../src/push/push_budget.ts";

Deno.test("PushBudget admits large pushes up to its budget and queues the rest in order", async () => {
  const budget = new PushBudget(
    { budgetBytes: 100, queueBytes: 1000 },
    "--storage.max-body-bytes",
  );
  const releaseA = await budget.admit(60);
  const releaseB = await budget.admit(40);
  assert.equal(budget.inFlight, 100);
  const admitted: string[] = [];
  const c = budget.admit(50).then((release) => {
    admitted.push("c");
    return release;
  });
  const d = budget.admit(30).then((release) => {
    admitted.push("d");
    return release;
  });
  await Promise.resolve();
  assert.deepEqual(admitted, []);
  releaseA();
  releaseA(); // twice gives back nothing more
  const releaseC = await c;
  assert.deepEqual(admitted, ["c"]); // d's 30 would pass 100 (40 + 50 + 30)
  assert.equal(budget.inFlight, 90);
  releaseB();
  const releaseD = await d;
  assert.deepEqual(admitted, ["c", "d"]);
  releaseC();
  releaseD();
  assert.equal(budget.inFlight, 0);
});

Deno.test("PushBudget admits a push alone however large, and answers 503 when the queue is full", async () => {
  const budget = new PushBudget(
    { budgetBytes: 50, queueBytes: 100 },
    "--storage.max-body-bytes",
  );
  const releaseHuge = await budget.admit(500);
  const waiting = budget.admit(100);
  await assert.rejects(() => budget.admit(1), {
    name: "LimitError",
    status: 503,
    reason: "unavailable",
    message:
      "too many large pushes at once: 500 bytes are being prepared and 100 bytes wait, and this push's 1 bytes would pass the queue of 100 bytes (--storage.max-body-bytes); try again",
  });
  releaseHuge();
  (await waiting)();
  assert.equal(budget.inFlight, 0);
});
