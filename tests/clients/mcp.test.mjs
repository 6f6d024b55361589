// The official MCP TypeScript SDK against tessera's /mcp over Streamable
// HTTP: the whole surface, and the refusals an agent meets, in-band.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { API_KEY, TESSERA_URL, fixture, rest, sha256 } from "./tessera.mjs";

let client;
before(async () => {
  client = new Client({ name: "tessera-ci", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${TESSERA_URL}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
  });
  await client.connect(transport);
});
after(async () => client?.close());

async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  return { result, data: result.structuredContent ?? {} };
}

test("the TypeScript SDK connects and sees the whole surface", async () => {
  assert.equal(client.getServerVersion().name, "tessera");
  const tools = (await client.listTools()).tools.map((t) => t.name);
  for (const name of ["upload_asset", "upload_asset_from_url", "wait_for_asset", "run_asset_skill", "get_asset_content_url", "batch_delete_assets", "create_storage_profile", "update_storage_profile", "delete_storage_profile"]) {
    assert.ok(tools.includes(name), name);
  }
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  assert.deepEqual(prompts.sort(), ["enrich_asset", "inspect_asset", "review_asset_outputs"]);
  const enrich = await client.getPrompt({ name: "enrich_asset", arguments: { assetId: "a1" } });
  assert.match(enrich.messages[0].content.text, /run_asset_skill.*basic_image_enrich/s);
  await assert.rejects(client.getPrompt({ name: "inspect_asset", arguments: {} }), (error) => error.code === -32602);
  const skill = await client.readResource({ uri: "skill://basic_image_enrich" });
  assert.ok(JSON.parse(skill.contents[0].text).steps.includes("generate_thumbnail"));
});

test("upload, wait, caption, link, edit, list and delete through the TypeScript SDK", async () => {
  const path = fixture("exif/progressive.jpg");
  const bytes = readFileSync(path);
  const { result, data: asset } = await call("upload_asset", {
    fileName: "progressive.jpg",
    contentType: "image/jpeg",
    contentBase64: bytes.toString("base64"),
    description: "from the TypeScript SDK",
    isPublic: false,
  });
  assert.ok(!result.isError, JSON.stringify(result.content));
  assert.equal(asset.checksumSha256, sha256(path));
  assert.equal(asset.storageKey, undefined);
  const { data: waited } = await call("wait_for_asset", { id: asset.id, timeoutSeconds: 60 });
  assert.equal(waited.asset.status, "ready");

  const { data: run } = await call("run_asset_skill", { assetId: asset.id, skillName: "ai-caption" });
  assert.equal(run.succeeded, true, JSON.stringify(run));

  // Private: no link to give, as NekoHub answers; public: the link works anonymously.
  const { result: hidden, data: refused } = await call("get_asset_content_url", { id: asset.id });
  assert.equal(hidden.isError, true);
  assert.equal(refused.error.code, "asset_not_found");
  const { data: patched } = await call("patch_asset", { id: asset.id, isPublic: true, altText: "a progressive JPEG" });
  assert.equal(patched.isPublic, true);
  assert.equal(patched.altText, "a progressive JPEG");
  const { data: link } = await call("get_asset_content_url", { id: asset.id });
  const served = Buffer.from(await (await fetch(link.contentUrl)).arrayBuffer());
  assert.ok(served.equals(bytes));

  const { data: page } = await call("list_assets", { query: "progressive", pageSize: 5 });
  assert.ok(page.items.some((item) => item.id === asset.id && item.storageProvider === undefined));
  const { data: stats } = await call("get_asset_usage_stats", {});
  assert.ok(stats.totalAssets >= 1);

  const { data: batch } = await call("batch_delete_assets", { ids: [asset.id, "00000000-0000-0000-0000-000000000000"] });
  assert.deepEqual([batch.requestedCount, batch.deletedCount], [2, 1]);
  assert.equal((await rest(`/api/v1/assets/${asset.id}`)).status, 404);
});

test("storage profiles through the TypeScript SDK, secrets never shown", async () => {
  const root = mkdtempSync(join(tmpdir(), "tessera-mcp-"));
  const { result, data: created } = await call("create_storage_profile", {
    name: "mcp-local", providerType: "local", configuration: { rootPath: root },
  });
  assert.ok(!result.isError, JSON.stringify(result.content));
  const { data: updated } = await call("update_storage_profile", { id: created.id, displayName: "From MCP", setAsDefault: true });
  assert.equal(updated.isDefault, true);
  assert.equal(updated.displayName, "From MCP");
  const { data: overview } = await call("list_storage_profiles", {});
  assert.ok(overview.profiles.some((p) => p.id === created.id));
  // Back to the built-in default before deleting this one.
  const local = overview.profiles.find((p) => p.name === "local");
  await call("update_storage_profile", { id: local.id, setAsDefault: true });
  const { data: deleted } = await call("delete_storage_profile", { id: created.id });
  assert.equal(deleted.id, created.id);
});

test("bad arguments are refused in-band with a stable code", async () => {
  for (const [name, args, code] of [
    ["get_asset", {}, "tool_arguments_invalid"],
    ["get_asset", { id: 42 }, "tool_arguments_invalid"],
    ["get_asset", { id: "not-a-uuid" }, "asset_id_invalid"],
    ["upload_asset", { fileName: "a.png", contentType: "", contentBase64: "AAAA" }, "asset_content_type_missing"],
    ["upload_asset_from_url", { url: "file:///etc/passwd" }, "asset_url_invalid"],
    ["upload_asset_from_url", { url: "http://169.254.169.254/latest/meta-data" }, "asset_url_forbidden"],
    ["run_asset_skill", { assetId: "00000000-0000-0000-0000-000000000000", skillName: "no_such_skill" }, "skill_not_found"],
  ]) {
    const { result, data } = await call(name, args);
    assert.equal(result.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.equal(data.error.code, code, `${name} ${JSON.stringify(args)}: ${JSON.stringify(data)}`);
  }
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), (error) => error.code === -32602);
});

test("a foreign browser origin and a missing credential are refused before any tool runs", async () => {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const foreign = await fetch(`${TESSERA_URL}/mcp`, {
    method: "POST", body, headers: { ...headers, authorization: `Bearer ${API_KEY}`, origin: "http://evil.example" },
  });
  assert.equal(foreign.status, 403);
  assert.equal((await foreign.json()).error.code, "origin_not_allowed");
  const anonymous = await fetch(`${TESSERA_URL}/mcp`, { method: "POST", body, headers });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer/);
});
