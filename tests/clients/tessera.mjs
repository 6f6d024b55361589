// What the client tests share: where tessera runs, how to ask it
// things over REST (with the CI's API key), and the fixtures.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through .ci/clients`);
  return value;
}

export const TESSERA_URL = required("TESSERA_URL");
export const API_KEY = required("TESSERA_API_KEY");
export const ADMIN_USERNAME = required("TESSERA_ADMIN_USERNAME");
export const ADMIN_PASSWORD = required("TESSERA_ADMIN_PASSWORD");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** A fixture image from tests/fixtures/images (licences in its README). */
export function fixture(path) {
  return fileURLToPath(new URL(`../fixtures/images/${path}`, import.meta.url));
}

export function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** A REST call with the API key; answers `{status, body}` (body parsed when JSON). */
export async function rest(path, init = {}) {
  const response = await fetch(`${TESSERA_URL}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, ...(init.headers ?? {}) },
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** The one asset whose file name is `name`, in full as REST shows it. */
export async function assetNamed(name) {
  const { status, body } = await rest(`/api/v1/assets?query=${encodeURIComponent(name)}`);
  if (status !== 200) throw new Error(`listing assets answered ${status}`);
  const matches = body.data.items.filter((a) => a.originalFileName === name);
  if (matches.length !== 1) throw new Error(`expected one asset named ${name}, found ${matches.length}`);
  return (await rest(`/api/v1/assets/${matches[0].id}`)).body.data;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw last ?? new Error("condition not met in time");
}
