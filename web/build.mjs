// Builds the console into dist/: one minified script, one stylesheet and the
// page. The output is committed (tessera embeds it), so it must be the same
// on every machine: no timestamps, no absolute paths.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

await rm("dist", { recursive: true, force: true });
await mkdir("dist");
await build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome120", "firefox120", "safari17"],
  outdir: "dist",
  legalComments: "eof",
  logLevel: "warning",
});
await copyFile("index.html", "dist/index.html");
