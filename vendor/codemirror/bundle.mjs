// Bundle CodeMirror 6 into one ES module for the builder's files editor and collect the
// licence of every package that ends up in it. Run by `make vendor` from a scratch copy of
// this directory after `npm ci`: node bundle.mjs OUT_JS OUT_LICENSE
import { build } from "esbuild";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const [outJs, outLicense] = process.argv.slice(2);
const result = await build({
  entryPoints: ["codemirror.entry.mjs"],
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "none",
  target: "es2020",
  metafile: true,
  outfile: outJs,
});

const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.add(match[1]);
}
const parts = [
  "CodeMirror 6 and its dependencies, bundled into codemirror.js by `make vendor`",
  "(vendor/codemirror). Each package's licence follows.",
  "",
];
for (const name of [...packages].sort()) {
  const dir = join("node_modules", name);
  const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt"].map((f) => join(dir, f)).find(existsSync);
  parts.push(`==== ${name}@${version} (${license}) ====`, "");
  parts.push(file ? readFileSync(file, "utf8").trim() : `Licensed under ${license}.`, "");
}
writeFileSync(outLicense, parts.join("\n"));
