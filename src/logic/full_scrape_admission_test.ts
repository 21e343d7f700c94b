import { strictEqual } from "node:assert/strict";
import { FullScrapeAdmission } from "./full_scrape_admission.ts";

Deno.test("FullScrapeAdmission: one modest full scrape per client per interval, a cap on all", () => {
  const a = new FullScrapeAdmission(2, 300);
  strictEqual(a.admit("1.2.3.4", true, 1000), "ok");
  strictEqual(a.admit("1.2.3.4", true, 1299), "modest");
  // A statedump is not modest; the cap still counts it.
  strictEqual(a.admit("1.2.3.4", false, 1001), "ok");
  strictEqual(a.admit("5.6.7.8", true, 1002), "busy");
  a.release();
  strictEqual(a.active, 1);
  strictEqual(a.admit("5.6.7.8", true, 1003), "ok");
  a.release();
  a.release();
  a.release(); // never below zero
  strictEqual(a.active, 0);
  strictEqual(a.admit("1.2.3.4", true, 1300), "ok");
  // A refused request does not move the client's clock.
  const b = new FullScrapeAdmission(0, 300);
  strictEqual(b.admit("9.9.9.9", true, 1), "busy");
  const c = new FullScrapeAdmission(1, 0);
  strictEqual(c.admit("9.9.9.9", true, 1), "ok");
  c.release();
  strictEqual(c.admit("9.9.9.9", true, 2), "ok");
});
