// Resumable uploads over grpc-web: UploadService takes the file in chunks, and
// a chunk that fails (a dropped connection, a restarted server) is resumed
// from the offset the server recorded, never from the start.

import { Code, ConnectError } from "@connectrpc/connect";
import { assets, describe, uploads } from "./api";
import { AssetStatus, type Asset } from "./gen/tessera/v1/assets_pb";
import { h } from "./dom";

/** 1 MiB: small enough to lose little to a drop, large enough to be fast. */
const CHUNK_BYTES = 1 << 20;
const MAX_ATTEMPTS = 8;

/** Failures worth retrying: the network or the server, not the request. */
const TRANSIENT = new Set([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
  Code.Aborted,
  Code.FailedPrecondition,
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface UploadOptions {
  isPublic: boolean;
  onReady: (asset: Asset) => void;
}

/** One file's row in the upload list: its progress bar and its status. */
class UploadRow {
  readonly element: HTMLLIElement;
  private readonly bar: HTMLProgressElement;
  private readonly status: HTMLSpanElement;

  constructor(readonly file: File) {
    this.bar = h("progress", { max: 100, value: 0, "aria-label": file.name });
    this.status = h("span", { class: "upload-status", "aria-live": "polite" }, "waiting");
    this.element = h("li", { class: "upload" }, h("span", { class: "name" }, file.name), this.bar, this.status);
  }

  progress(sent: number): void {
    this.bar.value = this.file.size === 0 ? 100 : Math.floor((sent / this.file.size) * 100);
  }

  say(text: string, kind = ""): void {
    this.status.textContent = text;
    this.element.dataset.state = kind || text;
  }
}

export function uploadFiles(files: File[], list: HTMLElement, options: UploadOptions): Promise<void>[] {
  return files.map((file) => {
    const row = new UploadRow(file);
    list.append(row.element);
    return uploadOne(row, options).catch((error) => row.say(describe(error), "failed"));
  });
}

async function uploadOne(row: UploadRow, options: UploadOptions): Promise<void> {
  const { file } = row;
  const created = await uploads.createUpload({
    metadata: {
      fileName: file.name,
      contentType: file.type || "application/octet-stream",
      isPublic: options.isPublic,
    },
    size: BigInt(file.size),
  });
  const uploadId = created.upload?.id ?? "";
  let offset = 0;
  let failures = 0;
  row.say("uploading");
  while (offset < file.size) {
    const data = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    try {
      const answer = await uploads.appendUpload({ uploadId, offset: BigInt(offset), data });
      offset = Number(answer.upload?.offset ?? offset + data.length);
      failures = 0;
    } catch (error) {
      offset = await resumePoint(uploadId, error, (failures += 1), row);
    }
    row.progress(offset);
  }
  row.say("processing");
  const done = await uploads.completeUpload({ uploadId });
  if (done.asset) await follow(done.asset, row, options);
}

/** After a failed chunk: wait, ask the server how much it has, go on from there. */
async function resumePoint(uploadId: string, error: unknown, failures: number, row: UploadRow): Promise<number> {
  let failure = ConnectError.from(error);
  for (let attempt = failures; attempt <= MAX_ATTEMPTS; attempt += 1) {
    if (!TRANSIENT.has(failure.code)) throw failure;
    row.say("connection lost, resuming", "resuming");
    await sleep(Math.min(250 * 2 ** attempt, 4000));
    try {
      const { upload } = await uploads.getUpload({ uploadId });
      return Number(upload?.offset ?? 0);
    } catch (next) {
      failure = ConnectError.from(next);
    }
  }
  throw failure;
}

/** Follows the new asset live until its processing ends. */
async function follow(asset: Asset, row: UploadRow, options: UploadOptions): Promise<void> {
  let latest = asset;
  const settled = (a: Asset) => a.status === AssetStatus.READY || a.status === AssetStatus.FAILED;
  if (!settled(latest)) {
    for await (const change of assets.watchAsset({ id: asset.id })) {
      if (!change.asset) continue;
      latest = change.asset;
      row.say(AssetStatus[latest.status].toLowerCase());
      if (settled(latest)) break;
    }
  }
  row.say(AssetStatus[latest.status].toLowerCase());
  options.onReady(latest);
}
