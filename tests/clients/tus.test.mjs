// tus-js-client, unchanged, against /api/v1/uploads: an upload cut off after
// its first chunk resumes from the server's offset and completes byte-exact.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { test } from "node:test";
import * as tus from "tus-js-client";
import { API_KEY, TESSERA_URL, fixture, rest, sha256 } from "./tessera.mjs";

const CHUNK = 512 * 1024;

function start(file, options) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: `${TESSERA_URL}/api/v1/uploads`,
      chunkSize: CHUNK,
      retryDelays: [],
      storeFingerprintForResuming: false,
      headers: { Authorization: `Bearer ${API_KEY}` },
      metadata: { filename: "tus-resumed.jpg", altText: "sent by tus-js-client", isPublic: "false" },
      onError: reject,
      ...options(resolve, () => upload),
    });
    upload.start();
  });
}

test("tus-js-client resumes an interrupted upload where the server stopped", async () => {
  const path = fixture("exif/icc_adobe_rgb_1998.jpg");
  const file = readFileSync(path);
  assert.ok(file.length > 2 * CHUNK, "the fixture spans several chunks");

  // First run: stop after the first chunk, as a dropped connection would.
  const url = await start(file, (resolve, upload) => ({
    onChunkComplete: (_chunk, sent) => {
      if (sent === CHUNK) upload().abort(false).then(() => resolve(upload().url));
    },
  }));
  assert.match(url, /\/api\/v1\/uploads\/[0-9a-f-]{36}$/);
  const head = await fetch(url, {
    method: "HEAD",
    headers: { authorization: `Bearer ${API_KEY}`, "tus-resumable": "1.0.0" },
  });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("upload-offset"), String(CHUNK));

  // Second run: a new client told only the upload's URL.
  let firstProgress = null;
  const lastResponse = await start(file, (resolve) => ({
    uploadUrl: url,
    onProgress: (sent) => {
      firstProgress ??= sent;
    },
    onSuccess: (payload) => resolve(payload.lastResponse),
  }));
  assert.ok(firstProgress >= CHUNK, `resumed at ${firstProgress}, not from the start`);

  const assetId = lastResponse.getHeader("Tessera-Asset-Id");
  assert.match(assetId ?? "", /^[0-9a-f-]{36}$/);
  const { status, body } = await rest(`/api/v1/assets/${assetId}`);
  assert.equal(status, 200);
  assert.equal(body.data.checksumSha256, sha256(path));
  assert.equal(body.data.size, file.length);
  assert.equal(body.data.originalFileName, "tus-resumed.jpg");
  assert.equal(body.data.altText, "sent by tus-js-client");

  const status2 = await rest(`/api/v1/uploads/${basename(url)}`);
  assert.equal(status2.status, 200);
  assert.equal(status2.body.data.assetId, assetId);
});

test("tus-js-client gets tessera's refusal of a file that is not an image", async () => {
  const error = await start(Buffer.from("%PDF-1.7 definitely not an image".repeat(100)), (resolve) => ({
    metadata: { filename: "notes.pdf" },
    onSuccess: () => resolve(null),
    onError: resolve,
  })).catch((e) => e);
  assert.ok(error instanceof Error, "the upload must fail");
  assert.equal(error.originalResponse?.getStatus(), 415);
  assert.match(error.originalResponse?.getBody() ?? "", /asset_content_type_not_allowed/);
});
