// sharp (libvips, in-process) as the thumbnail benchmark's peer: the same
// file, the same output as tessera's thumbnail step (256 px inside, WebP q80).
//   node sharp.cjs <file> <runs> <burst>
// prints JSON: {"single_ms": median of <runs> one at a time,
//               "burst_images_per_s": <burst> thumbnails, two at a time}
// sharp is resolved through NODE_PATH (benches/run installs it).
const fs = require("fs");
const sharp = require("sharp");

const [file, runs = "9", burst = "40"] = process.argv.slice(2);
const input = fs.readFileSync(file);
const thumbnail = () =>
  sharp(input, { limitInputPixels: false })
    .resize(256, 256, { fit: "inside" }).webp({ quality: 80 }).toBuffer();

async function main() {
  await thumbnail(); // warm-up, as tessera's runs are warm
  const samples = [];
  for (let i = 0; i < Number(runs); i++) {
    const start = process.hrtime.bigint();
    await thumbnail();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  let next = 0;
  const total = Number(burst);
  const lane = async () => {
    while (next < total) {
      next += 1;
      await thumbnail();
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all([lane(), lane()]);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      single_ms: samples[Math.floor(samples.length / 2)],
      burst_images_per_s: total / seconds,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
