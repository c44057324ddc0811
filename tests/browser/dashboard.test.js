// The hub's /dashboard in headless Chromium (Debian's chromium, driven by
// playwright-core): the numbers on the page match /status; a `kubectl scale`
// shows up without a reload; no JavaScript errors; usable at phone width and
// with hundreds of workloads. Saves build/artefacts/dashboard.png and
// dashboard-phone.png (dashboard.png is copied to docs/ when missing or with
// ATOLL_UPDATE_DOCS=1). Starts its own hub on 127.0.0.1 and stops everything
// it started; the whole run is bounded by DEADLINE_MS.
"use strict";
const assert = require("assert");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, execFileSync } = require("child_process");
const { chromium } = require("playwright-core");

const REPO = path.resolve(__dirname, "../..");
const BIN = process.env.ATOLL_BIN || path.join(REPO, "build/bin");
const SEED = path.join(REPO, "tests/data/seed");
const ARTEFACTS = path.join(REPO, "build/artefacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const DEADLINE_MS = 150000;
const BULK = 240; // workloads beyond the seed's, for the "hundreds" check

const started = [];
let tmp, browser, hubUrl, kubeconfig;

function log(...a) { console.log("[browser]", ...a); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, what, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error("timed out waiting for " + what + " (last: " + (last instanceof Error ? last.stack : JSON.stringify(last)) + ")");
}

async function api(method, p, body) {
  const r = await fetch(hubUrl + p, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { code: r.status, body: json, text };
}

function kubectl(...args) {
  return execFileSync("kubectl", args, {
    env: { ...process.env, KUBECONFIG: kubeconfig, HOME: tmp }, encoding: "utf8", timeout: 60000,
  });
}

async function startHub() {
  const dir = path.join(tmp, "hub");
  fs.mkdirSync(dir);
  const portFile = path.join(dir, "port");
  const logFd = fs.openSync(path.join(dir, "hub.log"), "a");
  // The clusters below report their status by hand, once, with no agent
  // behind them: a long grace period keeps them Ready however slow the run.
  const p = spawn(path.join(BIN, "atoll-hub"),
    ["serve", "--data-dir", dir, "--insecure-listen", "127.0.0.1:0", "--port-file", portFile,
      "--cluster-monitor-grace-period", "1h"],
    { stdio: ["ignore", logFd, logFd] });
  started.push(p);
  const port = await waitFor(() => fs.existsSync(portFile) && fs.readFileSync(portFile, "utf8").trim(), "hub port");
  hubUrl = "http://127.0.0.1:" + port;
  kubeconfig = path.join(tmp, "kubeconfig");
  fs.writeFileSync(kubeconfig, [
    "apiVersion: v1", "kind: Config",
    "clusters: [{name: atoll, cluster: {server: \"" + hubUrl + "\"}}]",
    "contexts: [{name: atoll, context: {cluster: atoll, user: admin}}]",
    "current-context: atoll", "users: [{name: admin, user: {}}]", ""].join("\n"));
  log("hub at", hubUrl);
}

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

async function makeCluster(name, region, version, nodes) {
  const c = { apiVersion: "cluster.karmada.io/v1alpha1", kind: "Cluster", metadata: { name },
    spec: { syncMode: "Pull", region, zones: [region + "-a"], provider: "sim" } };
  let r = await api("POST", "/apis/cluster.karmada.io/v1alpha1/clusters", c);
  assert.strictEqual(r.code, 201, r.text);
  r = await api("GET", "/apis/cluster.karmada.io/v1alpha1/clusters/" + name);
  const obj = r.body;
  obj.status = {
    kubernetesVersion: version,
    nodeSummary: { totalNum: nodes, readyNum: nodes },
    resourceSummary: { allocatable: { cpu: String(4 * nodes), memory: 16 * nodes + "Gi", pods: String(110 * nodes) },
      allocated: { cpu: "500m", pods: "4" } },
    conditions: [{ type: "Ready", status: "True", reason: "ClusterReady",
      message: "cluster is healthy and ready to accept workloads",
      lastTransitionTime: rfc3339(Date.now() - 3600e3), lastHeartbeatTime: rfc3339(Date.now()) }],
  };
  r = await api("PUT", "/apis/cluster.karmada.io/v1alpha1/clusters/" + name + "/status", obj);
  assert.strictEqual(r.code, 200, r.text);
}

// What an agent reports: its Work applied and the Deployment's replicas ready.
async function reportWorks() {
  for (const c of ["eu", "ap", "us"]) {
    const p = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-" + c + "/works";
    const list = (await api("GET", p)).body.items || [];
    for (const w of list) {
      const m = w.spec.workload.manifests[0];
      const n = m.spec && typeof m.spec.replicas === "number" ? m.spec.replicas : 0;
      w.status = {
        conditions: [{ type: "Applied", status: "True", reason: "AppliedSuccessful",
          message: "Manifest has been successfully applied", lastTransitionTime: rfc3339(Date.now()) }],
        manifestStatuses: [{
          identifier: { ordinal: 0, group: (m.apiVersion.includes("/") ? m.apiVersion.split("/")[0] : ""),
            version: m.apiVersion.split("/").pop(), kind: m.kind, namespace: m.metadata.namespace || "", name: m.metadata.name },
          status: m.kind === "Deployment" ? { replicas: n, readyReplicas: n, availableReplicas: n, updatedReplicas: n } : {},
          health: "Healthy" }],
      };
      const r = await api("PUT", p + "/" + w.metadata.name + "/status", w);
      assert.ok(r.code === 200 || r.code === 409, r.text);
    }
  }
}

// Polls a predicate inside the page. (Not page.waitForFunction: that evals
// a string, which the dashboard's Content-Security-Policy rightly forbids.)
function pageWait(page, fn, arg, timeout = 15000) {
  return waitFor(() => page.evaluate(fn, arg), "the page: " + fn.toString().slice(0, 120), timeout);
}

// The page's numbers, as a plain object comparable with /status.
async function pageState(page) {
  return page.evaluate(() => {
    const q = (el, s) => el.querySelector(s);
    const num = (el, s) => Number(q(el, s).textContent);
    const out = { revision: Number(document.body.getAttribute("data-revision")), clusters: {}, workloads: {}, totals: {} };
    for (const el of document.querySelectorAll("[data-cluster-card]")) {
      out.clusters[el.getAttribute("data-cluster-card")] = {
        region: el.closest("[data-region]").getAttribute("data-region"),
        ready: q(el, ".ready-state").textContent, version: q(el, ".version").textContent,
        nodes: q(el, ".nodes").textContent,
      };
    }
    for (const el of document.querySelectorAll("[data-workload]")) {
      const per = {};
      for (const c of el.querySelectorAll("[data-cluster]"))
        per[c.getAttribute("data-cluster")] = { ready: num(c, ".ready"), assigned: num(c, ".assigned") };
      out.workloads[el.getAttribute("data-workload")] = {
        desired: num(el, ".desired"), ready: num(el, ".ready-total"), assigned: num(el, ".assigned-total"),
        state: q(el, ".state").textContent, clusters: per,
      };
    }
    for (const id of ["t-clusters", "t-nodes", "t-workloads", "t-replicas"])
      out.totals[id] = document.getElementById(id).textContent;
    return out;
  });
}

function expectedFrom(doc, onlyKeys) {
  const e = { clusters: {}, workloads: {}, totals: {} };
  for (const c of doc.clusters) {
    e.clusters[c.name] = { region: c.region || "(no region)",
      ready: c.ready === "True" ? "Ready" : c.ready === "False" ? "NotReady" : "Unknown",
      version: c.kubernetesVersion || "—", nodes: c.nodes.ready + "/" + c.nodes.total };
  }
  for (const w of doc.workloads) {
    const key = (w.namespace || "") + "/" + w.name + "/" + w.kind;
    if (onlyKeys && !onlyKeys.includes(key)) continue;
    const per = {};
    for (const c of w.clusters) per[c.name] = { ready: c.readyReplicas, assigned: c.assignedReplicas };
    e.workloads[key] = { desired: w.desiredReplicas, ready: w.readyReplicas, assigned: w.assignedReplicas,
      state: w.state, clusters: per };
  }
  const t = doc.totals;
  e.totals = { "t-clusters": t.clustersReady + "/" + t.clusters, "t-nodes": t.nodesReady + "/" + t.nodesTotal,
    "t-workloads": (t.workloadsByState.Ready || 0) + "/" + t.workloads, "t-replicas": t.readyReplicas + "/" + t.desiredReplicas };
  return e;
}

// Waits until the page shows what /status shows, then compares once more.
// The revisions are not compared: /status reports the store's revision,
// which writes the feed does not carry (a template's status, a Work's)
// move on, while the page keeps the revision of the last frame it got.
async function assertPageMatchesStatus(page, onlyKeys) {
  let doc, shown, want, pageRev;
  const current = async () => {
    doc = (await api("GET", "/status")).body;
    shown = await pageState(page);
    want = expectedFrom(doc, onlyKeys);
    if (onlyKeys) for (const k of Object.keys(shown.workloads)) if (!onlyKeys.includes(k)) delete shown.workloads[k];
    pageRev = shown.revision;
    delete shown.revision;
    return shown;
  };
  await waitFor(async () => {
    await current();
    try { assert.deepStrictEqual(shown, want); return true; } catch (e) { return false; }
  }, "the page to show what /status shows");
  assert.deepStrictEqual(shown, want);
  assert.ok(pageRev > 0 && pageRev <= doc.revision, "page revision " + pageRev + ", /status " + doc.revision);
  return doc;
}

async function main() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atoll-browser-"));
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  await startHub();
  await makeCluster("eu", "europe", "v1.23.8", 3);
  await makeCluster("ap", "asia", "v1.23.8", 2);
  await makeCluster("us", "america", "v1.24.2", 3);
  kubectl("apply", "-f", path.join(SEED, "deployment.yaml"), "-f", path.join(SEED, "policy-equal.yaml"));
  await waitFor(async () => (await api("GET", "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-us/works")).body.items.length >= 2,
    "Works from the hub's controllers");
  await reportWorks();

  // A fresh profile directory per run (playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(path.join(tmp, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    timeout: 30000,
  });
  browser = context;
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("requestfailed", (r) => { if (!r.url().includes("watch=true")) problems.push("requestfailed: " + r.url()); });
  page.on("request", (r) => { if (!r.url().startsWith(hubUrl)) problems.push("outside request: " + r.url()); });

  const resp = await page.goto(hubUrl + "/dashboard", { waitUntil: "load" });
  assert.strictEqual(resp.status(), 200);
  assert.match(resp.headers()["content-security-policy"], /default-src 'none'/);
  await page.waitForSelector('[data-workload="default/hello/Deployment"]', { timeout: 15000 });
  await waitFor(async () => (await page.textContent("#conn")) === "live", "the live feed");

  // 1. The page shows what /status says (3 replicas, 1/1/1, all ready).
  let doc = await waitFor(async () => {
    const d = (await api("GET", "/status")).body;
    const w = d.workloads.find((x) => x.name === "hello" && x.kind === "Deployment");
    return w && w.readyReplicas === 3 ? d : null;
  }, "3 ready replicas in /status");
  await assertPageMatchesStatus(page);
  log("page matches /status at revision", doc.revision);

  // 2. kubectl scale on the hub: the page shows 10 without a reload.
  const navigations = [];
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  kubectl("scale", "deployment/hello", "--replicas=10");
  await pageWait(page, () => {
    const el = document.querySelector('[data-workload="default/hello/Deployment"] .desired');
    return el && el.textContent === "10";
  }, null, 15000);
  await pageWait(page, () => {
    const el = document.querySelector('[data-workload="default/hello/Deployment"] .assigned-total');
    return el && el.textContent === "10";
  }, null, 15000);
  await reportWorks();
  await pageWait(page, () => {
    const el = document.querySelector('[data-workload="default/hello/Deployment"] .ready-total');
    return el && el.textContent === "10";
  }, null, 15000);
  assert.deepStrictEqual(navigations, [], "the page reloaded");
  doc = await assertPageMatchesStatus(page);
  const hello = doc.workloads.find((x) => x.name === "hello" && x.kind === "Deployment");
  assert.deepStrictEqual(hello.clusters.map((c) => c.assignedReplicas).sort(), [3, 3, 4]);
  log("scale to 10 shown live:", JSON.stringify(hello.clusters.map((c) => c.name + "=" + c.assignedReplicas)));
  await page.screenshot({ path: path.join(ARTEFACTS, "dashboard.png"), fullPage: true });

  // 3. Hundreds of workloads: the page keeps up and the filter finds one.
  const docs = [];
  for (let i = 0; i < BULK; i++) {
    const n = "app-" + String(i).padStart(3, "0");
    docs.push({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: n, namespace: "bulk", labels: { tier: "bulk" } },
      spec: { replicas: 1 + (i % 4), selector: { matchLabels: { app: n } },
        template: { metadata: { labels: { app: n } }, spec: { containers: [{ name: "c", image: "nginx" }] } } } });
  }
  docs.push({ apiVersion: "policy.karmada.io/v1alpha1", kind: "PropagationPolicy", metadata: { name: "bulk", namespace: "bulk" },
    spec: { resourceSelectors: [{ apiVersion: "apps/v1", kind: "Deployment", labelSelector: { matchLabels: { tier: "bulk" } } }],
      placement: { clusterAffinity: { clusterNames: ["eu", "ap", "us"] },
        replicaScheduling: { replicaSchedulingType: "Divided", replicaDivisionPreference: "Weighted" } } } });
  assert.strictEqual((await api("POST", "/api/v1/namespaces", { metadata: { name: "bulk" } })).code, 201);
  const bulkFile = path.join(tmp, "bulk.json");
  fs.writeFileSync(bulkFile, JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }));
  const t0 = Date.now();
  kubectl("apply", "-f", bulkFile);
  await pageWait(page, (n) => document.querySelectorAll('[data-workload^="bulk/"]').length === n, BULK, 60000);
  log(BULK, "more workloads on the page after", Date.now() - t0, "ms");
  await assertPageMatchesStatus(page, ["default/hello/Deployment", "bulk/app-042/Deployment", "bulk/app-239/Deployment"]);
  await page.fill("#filter", "bulk/app-042");
  await pageWait(page, () => document.querySelectorAll("[data-workload]").length === 1);
  assert.strictEqual(await page.getAttribute("[data-workload]", "data-workload"), "bulk/app-042/Deployment");
  await page.fill("#filter", "default");
  await pageWait(page, () => document.querySelectorAll("[data-workload]").length === 2);
  await page.fill("#filter", "no-such-workload");
  await page.waitForSelector(".empty");
  await page.fill("#filter", "");
  await page.selectOption("#state", "!Ready");
  await pageWait(page, () => [...document.querySelectorAll("[data-workload] .state")].every((e) => e.textContent !== "Ready"));
  await page.selectOption("#state", "");

  // 4. Phone-sized screen: nothing wider than the viewport.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.fill("#filter", "hello");
  await pageWait(page, () => document.querySelectorAll("[data-workload]").length === 2);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, "page is " + overflow + "px wider than a phone screen");
  await page.screenshot({ path: path.join(ARTEFACTS, "dashboard-phone.png"), fullPage: false });

  // 5. A cluster going NotReady shows up live too.
  const us = (await api("GET", "/apis/cluster.karmada.io/v1alpha1/clusters/us")).body;
  us.status.conditions[0] = { type: "Ready", status: "False", reason: "ClusterNotReachable",
    message: "cluster is not reachable", lastTransitionTime: rfc3339(Date.now()), lastHeartbeatTime: rfc3339(Date.now() - 45e3) };
  assert.strictEqual((await api("PUT", "/apis/cluster.karmada.io/v1alpha1/clusters/us/status", us)).code, 200);
  await pageWait(page, () => document.querySelector('[data-cluster-card="us"] .ready-state').textContent === "NotReady",
    null, 15000);

  assert.deepStrictEqual(problems, [], "console errors or failed requests");
  // The README shows docs/dashboard.png: written when missing or asked for
  // (ATOLL_UPDATE_DOCS=1), so test runs do not churn a tracked image.
  const docsPng = path.join(REPO, "docs/dashboard.png");
  if (process.env.ATOLL_UPDATE_DOCS === "1" || !fs.existsSync(docsPng))
    fs.copyFileSync(path.join(ARTEFACTS, "dashboard.png"), docsPng);
  log("ok; screenshots in", ARTEFACTS);
}

async function cleanup() {
  for (const p of started.reverse()) {
    try { p.kill(); } catch (e) { /* already gone */ }
  }
  if (browser) await browser.close().catch(() => {});
  const hub = started.find((p) => p.pid);
  if (hub && hub.exitCode === null) await new Promise((r) => { hub.on("exit", r); setTimeout(r, 5000); });
  if (tmp && !process.env.ATOLL_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
}

const timer = setTimeout(() => {
  console.error("[browser] FAILED: no result within " + DEADLINE_MS + " ms");
  cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);

main().then(async () => {
  clearTimeout(timer);
  await cleanup();
  process.exit(0);
}, async (e) => {
  clearTimeout(timer);
  console.error("[browser] FAILED:", e && e.stack ? e.stack : e);
  if (tmp) {
    try { console.error(fs.readFileSync(path.join(tmp, "hub/hub.log"), "utf8").slice(-3000)); } catch (x) { /* no log */ }
  }
  await cleanup();
  process.exit(1);
});
