// The web console in Debian's Chromium, as a person uses it: sign in, upload
// two files (one cut off mid-way and resumed over grpc-web), watch them become
// ready, open one, run a skill, edit it, delete the other, sign out, and visit
// the public gallery anonymously.

import assert from "node:assert/strict";
import { basename } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import {
  ADMIN_PASSWORD,
  ADMIN_USERNAME,
  CHROMIUM,
  TESSERA_URL,
  assetNamed,
  eventually,
  fixture,
  rest,
  sha256,
} from "./tessera.mjs";

const BIG = fixture("exif/icc_adobe_rgb_1998.jpg");
const SMALL = fixture("exif/progressive.jpg");
const ALT_TEXT = "A colour test card";

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
});
after(async () => browser?.close());

/** The `offset` of an AppendUploadRequest inside a grpc-web frame (0 when absent). */
function appendOffset(body) {
  let i = 5;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = body[i++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return value;
    }
  };
  while (i < body.length) {
    const key = varint();
    if ((key & 7) === 0) {
      const value = varint();
      if (key >> 3 === 2) return value;
    } else if ((key & 7) === 2) {
      const length = varint();
      i += length;
    } else {
      throw new Error(`unexpected wire type in ${key}`);
    }
  }
  return 0;
}

/** Whether the image at `locator` has loaded pixels. */
async function loaded(locator) {
  await locator.first().waitFor();
  return eventually(() => locator.first().evaluate((img) => img.complete && img.naturalWidth > 0), 15_000);
}

test("the console: sign in, resumable uploads, detail, skill, edit, delete, gallery", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  const calls = [];
  page.on("request", (request) => {
    const match = /\/tessera\.v1\.(\w+)\/(\w+)$/.exec(request.url());
    if (match) calls.push(`${match[1]}/${match[2]}`);
  });
  // The connection drops once, in the middle of a file: the first chunk that
  // does not start a file never arrives.
  const appended = [];
  let dropped = null;
  await page.route("**/tessera.v1.UploadService/AppendUpload", async (route) => {
    const offset = appendOffset(route.request().postDataBuffer());
    appended.push(offset);
    if (offset > 0 && dropped === null) {
      dropped = offset;
      return route.abort("connectionreset");
    }
    return route.continue();
  });

  await page.goto(`${TESSERA_URL}/`);
  await page.getByLabel("Username").fill(ADMIN_USERNAME);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await page.getByLabel("Choose images").setInputFiles([BIG, SMALL]);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  for (const file of [BIG, SMALL]) {
    await page.getByRole("progressbar", { name: basename(file) }).waitFor();
  }
  await page.locator('li.upload[data-state="ready"]').nth(1).waitFor({ timeout: 60_000 });

  // Resumed, not restarted: the dropped chunk was sent again, after asking
  // the server where the upload stood, and no chunk was sent twice otherwise.
  assert.ok(dropped > 0, "a chunk was dropped");
  assert.ok(calls.includes("UploadService/GetUpload"), "the console asked where to resume");
  assert.equal(appended.filter((o) => o === dropped).length, 2);
  assert.equal(appended.filter((o) => o === 0).length, 2, "each file started once");
  for (const file of [BIG, SMALL]) {
    const asset = await assetNamed(basename(file));
    assert.equal(asset.checksumSha256, sha256(file), `${basename(file)} arrived byte-exact`);
    assert.equal(asset.status, "ready");
  }
  assert.ok(calls.includes("AssetService/WatchAsset"), "status followed live");

  // The grid: one link per asset, named by its file name, with a thumbnail.
  const bigLink = page.getByRole("link", { name: basename(BIG), exact: true });
  await loaded(bigLink.locator("img"));

  // Detail: the original, a skill run, an edit.
  await bigLink.click();
  await page.getByRole("heading", { name: basename(BIG) }).waitFor();
  await loaded(page.locator("figure.original img"));
  await page.getByLabel("Skill", { exact: true }).selectOption("thumbnail");
  await page.getByLabel("Parameters (JSON)").fill('{"size": 64}');
  await page.getByRole("button", { name: "Run skill" }).click();
  await page.getByText("thumbnail_64 ·").waitFor();
  const big = await assetNamed(basename(BIG));
  const detail = (await rest(`/api/v1/assets/${big.id}`)).body.data;
  assert.ok(detail.derivatives.some((d) => d.kind === "thumbnail_64"), "the skill ran on the server");

  await page.getByLabel("Alt text").fill(ALT_TEXT);
  await page.getByLabel("Public").check();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").getByText("Saved.").waitFor();
  await eventually(async () => {
    const saved = (await rest(`/api/v1/assets/${big.id}`)).body.data;
    return saved.altText === ALT_TEXT && saved.isPublic === true;
  });
  await page.getByRole("img", { name: ALT_TEXT }).first().waitFor();

  // Delete the other one from its page.
  await page.getByRole("link", { name: "← All assets" }).click();
  await page.getByRole("link", { name: basename(SMALL), exact: true }).click();
  await page.getByRole("heading", { name: basename(SMALL) }).waitFor();
  const small = await assetNamed(basename(SMALL));
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("link", { name: basename(BIG), exact: true }).waitFor();
  assert.equal((await rest(`/api/v1/assets/${small.id}`)).status, 404);

  // Keyboard only: the search box filters the grid.
  await page.getByLabel("Search").focus();
  await page.keyboard.type("no-such-file");
  await page.getByText("0 assets", { exact: true }).waitFor();

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  assert.ok(calls.includes("AuthService/Logout"));
  await context.close();

  // Anonymous: the gallery shows the public asset (and only it), with its alt text.
  const visitor = await browser.newContext();
  const gallery = await visitor.newPage();
  await gallery.goto(`${TESSERA_URL}/gallery`);
  await gallery.getByRole("heading", { name: "Public gallery" }).waitFor();
  await gallery.getByRole("link", { name: basename(BIG), exact: true }).waitFor();
  await loaded(gallery.getByRole("img", { name: ALT_TEXT }));
  assert.equal(await gallery.getByRole("link", { name: basename(SMALL) }).count(), 0);
  // A console page opened directly is the console; an API path never is.
  await gallery.goto(`${TESSERA_URL}/assets/${big.id}`);
  await gallery.getByRole("button", { name: "Sign in" }).waitFor();
  const api = await gallery.request.get(`${TESSERA_URL}/api/v1/nope`, { headers: { accept: "text/html" } });
  assert.equal(api.status(), 404);
  assert.equal((await api.json()).error.code, "route_not_found");
  await visitor.close();
});

test("the console refreshes an expiring session without signing the user out", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const refreshed = [];
  page.on("request", (r) => r.url().endsWith(".AuthService/RefreshSession") && refreshed.push(r));
  await page.goto(`${TESSERA_URL}/`);
  await page.getByLabel("Username").fill(ADMIN_USERNAME);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  // Make the stored access token look about to expire, as it would after a while.
  await page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem("tessera.session"));
    localStorage.setItem("tessera.session", JSON.stringify({ ...session, accessExpiresAt: Date.now() }));
  });
  await page.getByLabel("Search").fill("anything");
  await eventually(() => refreshed.length === 1);
  await page.getByText(/\d+ assets/).waitFor();
  assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 1, "still signed in");
  await context.close();
});
