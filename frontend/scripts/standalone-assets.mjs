#!/usr/bin/env node
// After `next build`: copy what the standalone server serves but does not carry (the static
// chunks and public/) into .next/standalone, so `node .next/standalone/server.js` is the
// whole console (Next.js leaves this step to the deployment).
import { cp, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const standalone = path.join(root, ".next/standalone");

async function exists(target) {
  return stat(target).then(
    () => true,
    () => false,
  );
}

if (!(await exists(path.join(standalone, "server.js")))) {
  console.error('no .next/standalone/server.js: is `output: "standalone"` still set?');
  process.exit(1);
}
for (const [from, to] of [
  [".next/static", ".next/standalone/.next/static"],
  ["public", ".next/standalone/public"],
]) {
  const source = path.join(root, from);
  if (!(await exists(source))) continue;
  const target = path.join(root, to);
  await rm(target, { recursive: true, force: true });
  await cp(source, target, { recursive: true });
}
console.log("standalone server: .next/standalone/server.js (static assets copied in)");
